"""``data.quality``, ``data.review`` and ``data.balance``: what is checked, reviewed and
rebalanced after the records are made."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tunesmith.config.auto import Auto
from tunesmith.config.base import Section

Kind = Literal["answerable", "unanswerable", "adversarial", "multihop", "ambiguous"]
Range = tuple[float, float]


def _check_range(name: str, bounds: Range, upper: float | None = 1.0) -> None:
    low, high = bounds
    if low < 0 or low > high or (upper is not None and high > upper):
        limit = f" and <= {upper}" if upper is not None else ""
        raise ValueError(f"{name}: expected [low, high] with 0 <= low <= high{limit}, "
                         f"got [{low}, {high}]")


class QualityConfig(Section):
    """Automated quality control; every dropped record goes to rejected.jsonl with its stage."""

    span_check: bool = Field(
        True, description="Check that each answer is in its context (exact, normalised, "
        "regular expression, fuzzy) and repair answer_start; drop records whose answer is not.")
    fuzzy_min: float = Field(
        90.0, ge=50, le=100, description="Lowest rapidfuzz partial-ratio score (0-100) that "
        "accepts a fuzzy answer match.")
    dedup: bool = Field(True, description="Drop near-duplicate records (MinHash LSH).")
    # seed: "lsh = MinHashLSH(threshold=0.7, num_perm=128)"
    dedup_threshold: float = Field(
        0.7, gt=0, le=1, description="Estimated Jaccard similarity (character 4-grams of "
        "question and answer) at which two records are near-duplicates.")
    num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations.")
    semantic: bool = Field(
        True, description="Score question-context similarity with a sentence encoder and drop "
        "records below min_question_context_similarity.")
    encoder: str = Field(
        "all-MiniLM-L6-v2", description="sentence-transformers model (name or path) for the "
        "semantic check; all-MiniLM-L6-v2 ships offline.")
    # seed: "Calculate BERT similarity between question and context (filter <0.3)"
    min_question_context_similarity: float = Field(
        0.3, ge=-1, le=1, description="Cosine below which a record is dropped.")
    semantic_kinds: list[Kind] = Field(
        ["answerable", "adversarial", "multihop", "ambiguous"],
        description="Kinds the similarity filter applies to (an unanswerable mismatch is "
        "meant to be off-topic); every kind is scored for the report.")
    pii_scan: Auto[Literal["off", "report", "drop"]] = Field(
        "auto", description="Scan the final records (Presidio) for personal data that "
        "redaction should have removed (types data.pii replaces with the placeholder): "
        "'report' counts findings, 'drop' also rejects the records, 'auto' reports when "
        "data.pii is enabled and is off otherwise.")
    leakage: bool = Field(
        True, description="Drop records with a near-duplicate in another split (the "
        "held-out copy is kept).")


class ReviewConfig(Section):
    """Human review rounds: decisions imported with `tunesmith data review import`."""

    dir: str = Field(
        "review", description="Folder (relative to the config file) holding one decisions "
        "file per round (<round>.jsonl); the build applies every round found there.")
    # seed: Round 1 answer correctness 20-30%, Round 2 context relevance 10-15%,
    # Adjudication (expert review) 5-10%
    expected: dict[str, Range] = Field(
        {"correctness": (0.20, 0.30), "relevance": (0.10, 0.15), "adjudication": (0.05, 0.10)},
        description="Expected rejection rate [low, high] per round, in review order.")

    @model_validator(mode="after")
    def _ranges(self) -> ReviewConfig:
        for name, bounds in self.expected.items():
            _check_range(f"expected.{name}", bounds)
        return self


class BalanceConfig(Section):
    """Answerability and difficulty balance, and the token-length analysis."""

    enabled: bool = Field(
        True, description="Drop records from over-represented groups until the shares are "
        "within their ranges (never duplicates records).")
    # seed: "Answerable: 65-75%, Unanswerable: 20-25%, Ambiguous: 5-10%"
    answerability: dict[str, Range] = Field(
        {"answerable": (0.65, 0.75), "unanswerable": (0.20, 0.25), "ambiguous": (0.05, 0.10)},
        description="Share range per answerability class: answerable (kinds answerable, "
        "multihop), unanswerable, ambiguous (kinds ambiguous, adversarial).")
    # seed: "Simple fact retrieval: 40%, Inferential reasoning: 35%, Multi-hop synthesis: 25%"
    difficulty: dict[str, float] = Field(
        {"simple": 0.40, "inferential": 0.35, "multihop": 0.25},
        description="Target share per difficulty.")
    difficulty_tolerance: float = Field(
        0.05, ge=0, le=1, description="A difficulty share within target +- this is balanced.")
    grade_difficulty: bool = Field(
        True, description="Re-grade every record's difficulty from its features (see "
        "docs/data.md); the generator's label is kept in provenance when it differs.")
    mix_tolerance: float = Field(
        0.02, ge=0, le=1, description="Balancing also keeps each answerability share within "
        "this of the construction's target (data.mix: answerable, unanswerable, and "
        "adversarial for the ambiguous class).")
    max_drop: float = Field(
        0.3, ge=0, le=1, description="Balancing drops at most this share of a split.")
    tokenizer: Auto[str] = Field(
        "auto", description="Tokenizer for the length analysis: 'auto' (the model's, when it "
        "can be loaded; for the built-in model after its stage has run), 'estimate' (4 "
        "characters per token), or a tokenizer name/path.")
    # seed: "Questions: 8-25 tokens, Contexts: 128-1024 tokens, Answers: 5-50 tokens"
    question_tokens: Range = Field((8, 25), description="Expected question length, tokens.")
    context_tokens: Range = Field((128, 1024), description="Expected context length, tokens.")
    answer_tokens: Range = Field((5, 50), description="Expected answer length, tokens.")

    @model_validator(mode="after")
    def _ranges(self) -> BalanceConfig:
        for name, bounds in self.answerability.items():
            _check_range(f"answerability.{name}", bounds)
        unknown = set(self.answerability) - {"answerable", "unanswerable", "ambiguous"}
        if unknown:
            raise ValueError(f"answerability: unknown class {sorted(unknown)}; classes: "
                             "answerable, unanswerable, ambiguous")
        unknown = set(self.difficulty) - {"simple", "inferential", "multihop"}
        if unknown:
            raise ValueError(f"difficulty: unknown level {sorted(unknown)}; levels: simple, "
                             "inferential, multihop")
        for key in ("question_tokens", "context_tokens", "answer_tokens"):
            _check_range(key, getattr(self, key), upper=None)
        return self
