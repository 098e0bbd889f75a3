"""Document sources: every reader on real files, encodings, stable ids, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunesmith.config import load_config
from tunesmith.data.ingest import ingest_sources
from tunesmith.data.sources import ReadOptions, SourceError, read_path
from tunesmith.data.sources.encoding import decode_text, detect_encoding
from tunesmith.data.sources.html import html_to_text

PAGE = """<!doctype html><html><head><title>Harborlight retention</title>
<style>p { color: red }</style><script>var tracking = "do not index";</script></head>
<body>
<header class="site-header"><a href="/">Home</a> <a href="/docs">Docs</a></header>
<nav><ul><li>Install</li><li>Configure</li></ul></nav>
<div class="sidebar">Related: pricing</div>
<main>
  <h1>Retention</h1>
  <p>The default retention period is <b>7 days</b>.</p>
  <p>Segments are deleted<br>after they expire.</p>
  <aside>Tip: subscribe to our newsletter</aside>
  <ul><li>Compaction runs hourly.</li><li>Tiered storage is optional.</li></ul>
</main>
<footer>Copyright 2024 Harborlight Inc. Privacy Terms</footer>
</body></html>"""


def test_html_keeps_the_main_text_and_drops_the_chrome() -> None:
    title, text = html_to_text(PAGE.encode("utf-8"))
    assert title == "Harborlight retention"
    paragraphs = text.split("\n\n")
    assert paragraphs == [
        "# Retention",
        "The default retention period is 7 days.",
        "Segments are deleted after they expire.",
        "Compaction runs hourly.",
        "Tiered storage is optional.",
    ]
    for chrome in ("Home", "Install", "pricing", "newsletter", "Copyright", "tracking", "color"):
        assert chrome not in text


def test_html_without_main_uses_the_article(tmp_path: Path) -> None:
    page = ("<html><body><nav>Menu</nav><article><h2>Ports</h2><p>The broker listens on "
            "port 7420.</p></article><div id='cookie-banner'>We use cookies</div></body></html>")
    (tmp_path / "ports.html").write_text(page, encoding="utf-8")
    result = read_path(tmp_path / "ports.html")
    (doc,) = result.documents
    assert doc.kind == "html" and doc.title == "Ports"
    assert "The broker listens on port 7420." in doc.text
    assert "Menu" not in doc.text and "cookies" not in doc.text


def _write_pdf(path: Path, lines: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"pdf.fonttype": 42}):  # TrueType: a real text layer
        fig = plt.figure(figsize=(8.5, 11))
        for i, line in enumerate(lines):
            fig.text(0.1, 0.9 - 0.05 * i, line)
        fig.savefig(path)
        plt.close(fig)


def test_pdf_text_layer(tmp_path: Path) -> None:
    _write_pdf(tmp_path / "guide.pdf", ["The broker listens on port 7420 by default."])
    (tmp_path / "scan.pdf").write_bytes(b"%PDF-1.4\n%garbage that is no PDF at all\n")
    result = read_path(tmp_path)
    (doc,) = result.documents
    assert doc.id == "guide.pdf" and doc.kind == "pdf"
    assert "The broker listens on port 7420 by default." in doc.text
    (skip,) = result.skipped
    assert skip.path.endswith("scan.pdf") and "PDF" in skip.reason


def test_jsonl_tickets_with_fields_and_bad_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "T-1", "subject": "Login", "message": {"body": "I cannot log in."}}),
        "{not json",
        json.dumps({"id": "T-2", "subject": "Refund", "message": {"body": "Refund please."}}),
        json.dumps({"id": "T-3", "subject": "Empty"}),
        "",
        json.dumps(["a", "list"]),
    ]
    (tmp_path / "tickets.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    options = ReadOptions(text_field="message.body", id_field="id", title_field="subject")
    result = read_path(tmp_path / "tickets.jsonl", options=options)
    assert [d.id for d in result.documents] == ["tickets.jsonl#T-1", "tickets.jsonl#T-2"]
    assert [d.title for d in result.documents] == ["Login", "Refund"]
    assert result.documents[1].provenance["line"] == 3
    assert [(s.line, s.reason.split(" (")[0]) for s in result.skipped] == [
        (2, "not valid JSON"),
        (4, "no key 'message.body'"),
        (6, "expected a JSON object per line"),
    ]
    assert "subject" in result.skipped[1].reason  # names the keys the line has


def test_squad_paragraphs_are_documents(squad_sample_dir: Path) -> None:
    result = read_path(squad_sample_dir / "dev-sample.json", kind="squad")
    assert len(result.documents) == 87 and not result.skipped
    first = result.documents[0]
    assert first.id == "Normans/0" and first.title == "Normans" and first.kind == "squad"
    assert first.text.startswith("The Normans (Norman: Nourmands;")
    assert result.documents[39].id == "Computational_complexity_theory/0"
    assert first.provenance["source"].endswith("dev-sample.json")
    assert first.provenance["source_kind"] == "squad"


def test_encodings_are_detected(tmp_path: Path) -> None:
    french = ("Le café de la gare est ouvert tous les jours. Déjà vu, naïve résumé, à bientôt. "
              "Les élèves étudient à l'école près de la forêt.")
    assert decode_text(french.encode("cp1252")) == french
    assert decode_text(french.encode("utf-16")) == french
    assert decode_text(("\ufeff" + french).encode("utf-8")) == french
    russian = "Привет, как дела? Это тест кодировки текста на русском языке, длинный текст."
    assert detect_encoding(russian.encode("cp1251")) == "cp1251"
    polish = "Zażółć gęślą jaźń, to jest polski tekst do testu kodowania znaków."
    assert decode_text(polish.encode("cp1250")) == polish
    for short in ("café", "Straße", "naïve résumé"):  # too short to tell: cp1252, not UTF-16
        assert decode_text(short.encode("cp1252")) == short
    (tmp_path / "legacy.txt").write_bytes(french.encode("cp1252"))
    (doc,) = read_path(tmp_path).documents
    assert doc.text == french


def test_bad_files_are_skipped_with_reasons_and_the_rest_is_read(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("# Ports\n\nThe broker listens on port 7420.\n")
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01")
    (tmp_path / "big.txt").write_text("word " * 300_000)
    (tmp_path / ".hidden.md").write_text("# Hidden\n\nnever read")
    (tmp_path / "notes.csv").write_text("a,b\n")  # not a document kind: listed with why
    (tmp_path / "html.html").write_text("<p>x</p>")  # a kind, not one this source reads
    (tmp_path / "README").write_text("no extension")
    (tmp_path / "gone.md").symlink_to(tmp_path / "nowhere.md")
    result = read_path(tmp_path, kinds=["md", "txt"], max_file_mb=1)
    assert [d.id for d in result.documents] == ["good.md"]
    reasons = {Path(s.path).name: s.reason for s in result.skipped}
    assert reasons.keys() == {"empty.txt", "binary.txt", "big.txt", "notes.csv", "html.html",
                              "README", "gone.md"}
    assert reasons["notes.csv"].startswith("'.csv' files are not read from this folder")
    assert "add 'html'" in reasons["html.html"]
    assert reasons["README"].startswith("no file extension")
    assert reasons["gone.md"].startswith("dangling symlink")
    assert reasons["empty.txt"] == "empty file"
    assert "binary" in reasons["binary.txt"]
    assert "data.max_file_mb" in reasons["big.txt"]


def test_missing_source_and_unknown_suffix_are_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        read_path(tmp_path / "nope")
    (tmp_path / "data.xyz").write_text("x")
    with pytest.raises(SourceError, match="no reader for '.xyz'"):
        read_path(tmp_path / "data.xyz")


def test_ingest_sources_keeps_ids_stable_and_unique(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "doc.txt").write_text(f"Folder {name} has text.", encoding="utf-8")
    (tmp_path / "tickets.jsonl").write_text('{"body": "Reset my password"}\n{"body": 3}\n')
    (tmp_path / "tunesmith.yaml").write_text(
        "name: t\ndata:\n  sources:\n    - {path: a}\n    - {path: b}\n"
        "    - {path: tickets.jsonl, text_field: body}\n", encoding="utf-8")
    config = load_config(tmp_path / "tunesmith.yaml", [])
    first = ingest_sources(config)
    assert [d.id for d in first.documents] == ["doc.txt", "b/doc.txt", "tickets.jsonl#L1"]
    assert [(Path(s.path).name, s.line) for s in first.skipped] == [("tickets.jsonl", 2)]
    assert first.skipped[0].to_dict()["stage"] == "ingest"
    assert ingest_sources(config).documents == first.documents
    assert first.pii == {}


def test_build_on_only_broken_files_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tunesmith.cli.main import app

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "empty.md").write_text("")
    (tmp_path / "docs" / "bin.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "docs" / "t.jsonl").write_text("{broken\n")
    (tmp_path / "tunesmith.yaml").write_text(
        f"name: b\noutput_dir: {tmp_path / 'runs'}\ndata:\n"
        "  sources: [{path: docs, kinds: [md, txt, jsonl]}]\n")
    done = CliRunner().invoke(app, ["data", "build", str(tmp_path / "tunesmith.yaml")])
    said = " ".join(done.output.split())
    assert done.exit_code == 1, done.output
    assert "no document could be read from data.sources (3 skipped" in said
    assert "bin.txt: binary file" in said and "t.jsonl:1: not valid JSON" in said
    assert "Traceback" not in done.output


def test_records_get_their_documents_provenance(squad_sample_dir: Path) -> None:
    from tunesmith.data.ingest import attach_provenance
    from tunesmith.data.schema import QARecord

    docs = read_path(squad_sample_dir / "dev-sample.json", kind="squad").documents[:2]
    record = QARecord(id="m", question="Who?", contexts=[docs[0].text, docs[1].text],
                      source_doc_ids=["Normans/0", "Normans/1", "elsewhere"],
                      kind="multihop", answer="Rollo", provenance={"generator": "rules"})
    attach_provenance([record], docs)
    assert record.provenance["generator"] == "rules"
    first, second = record.provenance["documents"]
    assert (first["doc_id"], first["source_kind"], first["paragraph"]) == ("Normans/0", "squad", 0)
    assert first["source"].endswith("dev-sample.json") and second["doc_id"] == "Normans/1"
