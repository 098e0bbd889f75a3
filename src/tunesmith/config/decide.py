"""``decide:`` should we fine-tune at all? The baselines, the seed's thresholds and the prices
``tunesmith decide`` weighs (the seed's "How to make the decision of fine-tuning?")."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tunesmith.config.base import Section


class ApiPrice(Section):
    """What an API charges, in USD per 1,000 tokens."""

    input_per_1k: float = Field(..., ge=0, description="USD per 1,000 prompt tokens.")
    output_per_1k: float = Field(..., ge=0, description="USD per 1,000 generated tokens.")


def _default_api_prices() -> dict[str, ApiPrice]:
    # OpenAI's published list prices (2024-2025); a starting point: edit them to your provider
    return {"gpt-4o-mini": ApiPrice(input_per_1k=0.00015, output_per_1k=0.0006),
            "gpt-4o": ApiPrice(input_per_1k=0.0025, output_per_1k=0.01)}


class DecideCostConfig(Section):
    """The cost-benefit: training on a catalog GPU, annotation, serving, an API."""

    train_gpu: str | None = Field(
        None, description="GPU catalog key (`tunesmith estimate --help`) that prices the "
        "planner's GPU-hours; default: plan.hardware when it names one, else a100-80gb "
        "(the seed's $3.67/h).")
    serving_hardware: str = Field(
        "rtx3060", description="GPU catalog key whose $/hour prices serving in-house, at the "
        "latency measured by decide on this machine (one answer at a time: an upper bound).")
    annotation_usd_per_example: tuple[float, float] = Field(
        (3.0, 10.0), description="Low and high cost of curating one example "
        "(seed: \"$3-10 per example\").")
    api_prices: dict[str, ApiPrice] = Field(
        default_factory=_default_api_prices,
        description="API name -> {input_per_1k, output_per_1k} in USD; the best prompting "
        "baseline's tokens per answer (counted by the base model's tokenizer) are priced "
        "with each.")

    @model_validator(mode="after")
    def _low_then_high(self) -> DecideCostConfig:
        low, high = self.annotation_usd_per_example
        if not 0 <= low <= high:
            raise ValueError(f"annotation_usd_per_example: need 0 <= low <= high, got "
                             f"[{low}, {high}]")
        return self


class DecideConfig(Section):
    """``tunesmith decide``: baselines, the seed's criteria, cost-benefit (docs/decide.md)."""

    split: Literal["val", "test"] = Field("val", description="The split the baselines answer.")
    max_questions: int | None = Field(
        40, ge=1, description="Answer only the split's first N questions (each baseline "
        "answers all of them; null: every one). The quickstart's 32 take a few minutes on "
        "2 CPU cores.")
    few_shot_k: int = Field(3, ge=1, description="Worked examples drawn from the training "
                            "split for the few-shot baseline.")
    retrieval_k: int = Field(3, ge=1, description="Chunks the RAG baselines retrieve per "
                             "question (and recall@k's k).")
    max_new_tokens: int | None = Field(
        None, ge=1, description="Longest answer, in tokens; null: eval.max_new_tokens.")
    cot_max_new_tokens: int = Field(
        128, ge=8, description="Longest chain-of-thought reply (reasoning and the final "
        "'Answer:' line).")
    batch_size: int = Field(16, ge=1, description="Prompts generated at once for the scores.")
    latency_questions: int = Field(
        5, ge=1, description="Questions each baseline answers again one at a time, for the "
        "latency p50/p95 (a batch's time is not a request's latency).")
    other_models: list[str] = Field(
        default_factory=list, description="Smaller or larger models scored zero-shot "
        "beside the base (a built-in, a .gguf file, a Hub name in the local cache or a "
        "folder).")
    target_f1: float = Field(
        75.0, ge=0, le=100, description="The F1 the task needs (seed: \"F1-score or BLEU "
        "(<75% indicates need)\").")
    min_gap: float = Field(
        15.0, ge=0, le=100, description="Fine-tune when the best prompting falls more than "
        "this many F1 points short of target_f1 (seed: \"performance gap >15%\").")
    data_range: tuple[int, int] = Field(
        (500, 10_000), description="Curated examples needed, and the count beyond which more "
        "add little (seed: \"500-10k curated examples required\").")
    max_closed_book_share: float = Field(
        0.2, ge=0, le=1, description="The knowledge counts as not public when the base model "
        "answers at most this share of the answerable questions correctly without their "
        "context (tunesmith's threshold; the seed gives none).")
    max_latency_ms: float = Field(
        500.0, gt=0, description="Latency budget per answer, p95 (seed: \"<500ms requires "
        "optimization\").")
    min_format_adherence: float = Field(
        0.9, ge=0, le=1, description="Prompting meets the output format when at least this "
        "share of its replies is the abstention phrase alone or a short answer.")
    max_answer_words: int | None = Field(
        None, ge=1, description="A reply longer than this is off-format; null: the longest "
        "reference answer among the questions.")
    min_recall: float = Field(
        0.8, ge=0, le=1, description="Retrieval works when recall@k reaches this: RAG (and a "
        "fine-tuned reader over it) is then an option.")
    long_answer_words: float = Field(
        4.0, ge=0, description="BLEU and ROUGE-L are reported when the reference answers "
        "average more words than this.")
    check_after_eval: bool = Field(
        True, description="After training, eval also scores the tuned model (alone and as "
        "the RAG reader) on the decision's questions, when decide has run.")
    cost: DecideCostConfig = Field(default_factory=DecideCostConfig)

    @model_validator(mode="after")
    def _range_ordered(self) -> DecideConfig:
        low, high = self.data_range
        if not 0 < low <= high:
            raise ValueError(f"data_range: need 0 < low <= high, got [{low}, {high}]")
        return self
