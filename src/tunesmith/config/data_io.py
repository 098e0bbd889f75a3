"""``data:`` keys for where documents come from and what happens to them on the way in and
out: sources, PII redaction, the data card, versioning and the size tiers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tunesmith.config.base import Section

FolderKind = Literal["md", "txt", "html", "pdf", "jsonl"]
SourceKind = Literal["auto", "md", "txt", "html", "pdf", "jsonl", "squad"]


class SourceConfig(Section):
    """A file or folder of documents. Relative paths are relative to the config file."""

    path: str = Field(..., description="A file or folder of documents.")
    kind: SourceKind = Field(
        "auto",
        description="Reader for a file: 'auto' picks it by suffix (.md .txt .html .pdf "
        ".jsonl; .json is read as SQuAD 2.0, one document per paragraph). For a folder, "
        "'auto' reads every file whose kind is in 'kinds'; another value reads only that kind.",
    )
    kinds: list[FolderKind] = Field(
        ["md", "txt", "html", "pdf"], description="File types to ingest from a folder."
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
