"""Bad input, case by case, through the real CLI (in process): documents, JSONL records, SQuAD
files, configs and flags.

For every case: the exit code (1 bad input, 2 bad config, 0 when the good part goes on), no
traceback (an exception escaping the command), a message that names the culprit (the file,
line, key or flag), and the good records or documents of the same input all kept.
No model is built and nothing is trained: the documents build with the ``patterns``
generator, and the configs stop at ``validate``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tunesmith.cli.main import app

runner = CliRunner()

DOC = """# Broker {i}

The broker {i} listens on port 74{i}0 by default. The default retention period for tier {i}
is {i} days. Version {i}.2 was released in March 2021, and it added tiered storage.

The configuration file is stored in /etc/harborlight/h{i}.toml. The segment size defaults
to {i}12 MB. The console {i} uses the token in HL_TOKEN_{i}.
"""

CONFIG = """\
schema_version: 1
name: bad
output_dir: {out}
model: {name: tiny}
data:
  sources: [{path: docs}]
  generate: {generator: patterns}
  mix: {multihop: 0.0, hard_negatives: false}
  quality: {semantic: false, pii_scan: "off"}
  balance: {enabled: false, tokenizer: estimate}
  split: {val: 0.0, test: 0.0}
"""

CONTEXT = "The broker listens on port 7420. Version 2.1 was released in March 2021."


def _record(rid: str, question: str = "Which port does the broker listen on?",
            answer: str | None = "7420", start: int | None = 27) -> dict[str, Any]:
    kind = "answerable" if answer is not None else "unanswerable"
    return {"id": rid, "question": question, "contexts": [CONTEXT], "answer": answer,
            "answer_start": start if answer is not None else None, "kind": kind}


GOOD = [_record("g1"), _record("g2", "When was version 2.1 released?", "March 2021",
                               CONTEXT.index("March 2021")),
        _record("g3", "Who wrote it?", None)]


def _squad(qas: list[Any], context: str = CONTEXT, **extra_paragraph: Any) -> dict[str, Any]:
    return {"version": "v2.0", "data": [{"title": "T", "paragraphs": [
        {"context": context, "qas": qas, **extra_paragraph}]}]}


GOOD_QAS = [
    {"id": "s1", "question": "Which port?", "answers": [{"text": "7420", "answer_start": 27}],
     "is_impossible": False},
    {"id": "s2", "question": "Who wrote it?", "answers": [], "is_impossible": True},
]


@dataclass
class Case:
    """``setup(tmp)`` writes the input and returns the CLI arguments."""

    name: str
    setup: Callable[[Path], list[str]]
    exit_code: int
    culprit: list[str]  # each must appear in the output
    kept: Callable[[Path], None] | None = None  # asserts the good part survived
    env: dict[str, str] = field(default_factory=dict)


# -- helpers that write inputs ---------------------------------------------------------------


def _jsonl(path: Path, rows: list[Any], extra: list[str] | None = None) -> Path:
    lines = [json.dumps(r) for r in rows] + (extra or [])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _project(tmp: Path, docs: int = 3, config: str = CONFIG, **files: bytes | str) -> Path:
    """A config and a docs/ folder with ``docs`` good documents and the given extra files."""
    folder = tmp / "docs"
    folder.mkdir(exist_ok=True)
    for i in range(1, docs + 1):
        (folder / f"d{i}.md").write_text(DOC.format(i=i), encoding="utf-8")
    for name, content in files.items():
        target = folder / name.replace("__", ".")
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    path = tmp / "tunesmith.yaml"
    path.write_text(config.replace("{out}", str(tmp / "runs")), encoding="utf-8")
    return path


def _stats(tmp: Path) -> dict[str, Any]:
    return json.loads((tmp / "runs" / "bad" / "data" / "stats.json").read_text())


def _good_docs_kept(n: int = 3, skipped: int = 1) -> Callable[[Path], None]:
    def check(tmp: Path) -> None:
        stats = _stats(tmp)
        assert sum(stats["documents"].values()) == n
        assert len(stats["skipped"]) == skipped
        assert stats["counts"]["train"] > 0

    return check


def _build(**files: bytes | str) -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        return ["data", "build", str(_project(tmp, **files))]

    return setup


def _build_with(config: str, docs: int = 3, **files: bytes | str) -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        return ["data", "build", str(_project(tmp, docs, config, **files))]

    return setup


# -- documents -------------------------------------------------------------------------------


def _symlink(tmp: Path) -> list[str]:
    config = _project(tmp)
    (tmp / "docs" / "gone.md").symlink_to(tmp / "nowhere.md")
    return ["data", "build", str(config)]


def _long_line(tmp: Path) -> list[str]:
    sentence = "the broker listens on port 7420 by default and keeps data for seven days "
    config = _project(tmp, big__txt=sentence * 2_000)  # 150 kB, not one line break
    return ["data", "build", str(config), "--set", "data.chunk.max_chars=300"]


def _long_line_kept(tmp: Path) -> None:
    stats = _stats(tmp)
    assert sum(stats["documents"].values()) == 4 and not stats["skipped"]
    contexts = {c for r in _lines(tmp / "runs" / "bad" / "data" / "train.jsonl")
                for c in r["contexts"]}
    assert contexts and max(len(c) for c in contexts) <= 300


JSONL_SOURCE = CONFIG.replace("sources: [{path: docs}]",
                              "sources: [{path: docs}, {path: tickets.jsonl}]")


def _tickets(rows: list[str]) -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        config = _project(tmp, 2, JSONL_SOURCE)
        (tmp / "tickets.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
        return ["data", "build", str(config)]

    return setup


def _tickets_kept(tmp: Path) -> None:
    stats = _stats(tmp)
    assert sum(stats["documents"].values()) == 3  # 2 documents and the good ticket
    assert [s["line"] for s in stats["skipped"]] == [2]


GOOD_TICKET = json.dumps({"text": DOC.format(i=7)})

DOCUMENT_CASES = [
    Case("doc-empty-file", _build(empty__txt="  \n"), 0, ["empty.txt", "empty file"],
         _good_docs_kept()),
    Case("doc-binary-file", _build(blob__txt=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00"), 0,
         ["blob.txt", "binary"], _good_docs_kept()),
    Case("doc-over-max-file-mb", _build_with(CONFIG.replace("split:", "max_file_mb: 0.01\n  "
                                                            "split:"), big__txt="word " * 5000),
         0, ["big.txt", "data.max_file_mb"], _good_docs_kept()),
    Case("doc-dangling-symlink", _symlink, 0, ["gone.md", "dangling symlink"],
         _good_docs_kept()),
    Case("doc-no-extension", _build(NOTES="Some notes here. They are long enough."), 0,
         ["NOTES", "no file extension"], _good_docs_kept()),
    Case("doc-kind-not-read", _build(table__csv="a,b\n1,2\n"), 0,
         ["table.csv", "'.csv' files are not read"], _good_docs_kept()),
    Case("doc-broken-pdf", _build(broken__pdf=b"%PDF-1.4 this is not a pdf"), 0,
         ["broken.pdf"], _good_docs_kept()),
    Case("doc-not-utf8-is-read", _build(legacy__txt=("Le café est prêt à huit heures. " * 5)
                                        .encode("cp1252")), 0, ["data: done"],
         _good_docs_kept(4, 0)),
    Case("doc-one-line-of-150kB", _long_line, 0, ["data: done"], _long_line_kept),
    Case("doc-jsonl-bad-line", _tickets([GOOD_TICKET, "{oops"]), 0,
         ["tickets.jsonl:2", "not valid JSON"], _tickets_kept),
    Case("doc-jsonl-missing-text", _tickets([GOOD_TICKET, json.dumps({"body": "x"})]), 0,
         ["tickets.jsonl:2", "text"], _tickets_kept),
    Case("doc-every-file-bad", _build_with(CONFIG, 0, a__txt="", b__md=" \n"), 1,
         ["no document could be read", "a.txt", "empty file"]),
    Case("doc-no-train-record", _build_with(CONFIG, 0, a__txt="hello.", b__md="x"), 1,
         ["no training record", "2 documents read", "rejected.jsonl"]),
    Case("doc-source-missing", _build_with(CONFIG.replace("path: docs", "path: nowhere")), 1,
         ["nowhere", "no such file"]),
    Case("doc-folder-without-documents", _build_with(CONFIG, 0, x__csv="a,b"), 1,
         ["no md, txt, html, pdf files found", "x.csv"]),
]


# -- configs ---------------------------------------------------------------------------------


def _config(text: str, *extra: str) -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        path = _project(tmp, 0, text)
        return ["validate", str(path), *extra]

    return setup


def _replace(old: str, new: str, *extra: str) -> Callable[[Path], list[str]]:
    assert old in CONFIG
    return _config(CONFIG.replace(old, new), *extra)


def _output_file(tmp: Path) -> list[str]:
    (tmp / "runs").write_text("a file")
    return _config(CONFIG)(tmp)


def _output_parent_file(tmp: Path) -> list[str]:
    (tmp / "runs").write_text("a file")
    return _config(CONFIG.replace("output_dir: {out}", "output_dir: {out}/deeper"))(tmp)


def _model_folder_without_config(tmp: Path) -> list[str]:
    (tmp / "weights").mkdir()
    return _replace("name: tiny", f"name: {tmp / 'weights'}")(tmp)


def _not_utf8(tmp: Path) -> list[str]:
    path = tmp / "tunesmith.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    return ["validate", str(path)]


def _tilde(tmp: Path) -> list[str]:
    return _config(CONFIG.replace("output_dir: {out}", "output_dir: ~/tunesmith-runs"),
                   "--json")(tmp)


def _tilde_expanded(tmp: Path) -> None:
    from tunesmith.config import load_config

    config = load_config(tmp / "tunesmith.yaml")
    assert config.run_dir == Path.home() / "tunesmith-runs" / "bad"


CONFIG_CASES = [
    Case("cfg-duplicate-key", _replace("name: bad", "name: bad\nname: other"), 2,
         ["tunesmith.yaml:3", "duplicate key 'name'", "first at line 2"]),
    Case("cfg-duplicate-nested-key", _replace("  split:", "  chunk: {max_chars: 400}\n"
                                              "  chunk: {max_chars: 500}\n  split:"), 2,
         ["tunesmith.yaml:12", "duplicate key 'data.chunk'", "first at line 11"]),
    Case("cfg-misspelt-section", _replace("model:", "modle:"), 2,
         ["tunesmith.yaml:4", "modle", "did you mean 'model'"]),
    Case("cfg-misspelt-nested-key", _replace("generator: patterns", "generater: patterns"), 2,
         ["tunesmith.yaml:7", "data.generate.generater", "did you mean"]),
    Case("cfg-wrong-type", _replace("val: 0.0", "val: lots"), 2,
         ["tunesmith.yaml:11", "data.split.val", "lots"]),
    Case("cfg-out-of-range", _replace("val: 0.0", "val: 1.5"), 2,
         ["tunesmith.yaml:11", "data.split.val", "1.5"]),
    Case("cfg-not-yaml", _config("name: [bad\ndata: {\n"), 2, ["not valid YAML", "line"]),
    Case("cfg-top-level-list", _config("- a\n- b\n"), 2, ["expected a mapping", "list"]),
    Case("cfg-empty", _config(""), 2, ["missing required key 'name'"]),
    Case("cfg-missing-file", lambda tmp: ["validate", str(tmp / "nope.yaml")], 2,
         ["nope.yaml", "file not found"]),
    Case("cfg-not-utf8", _not_utf8, 2, ["tunesmith.yaml", "cannot read"]),
    Case("cfg-bad-run-name", _replace("name: bad", "name: 'bad name/x'"), 2,
         ["tunesmith.yaml:2", "'name'"]),
    Case("cfg-schema-version", _replace("schema_version: 1", "schema_version: 2"), 2,
         ["tunesmith.yaml:1", "schema_version"]),
    Case("cfg-mix-over-one", _replace("multihop: 0.0,", "multihop: 0.0, unanswerable: 0.8, "
                                      "adversarial: 0.5,"), 2,
         ["tunesmith.yaml:8", "data.mix", "at most 1"]),
    Case("cfg-tiny-heads", _replace("model: {name: tiny}",
                                    "model: {name: tiny, tiny: {hidden_size: 30, heads: 4}}"),
         2, ["tunesmith.yaml:4", "divisible by heads"]),
    Case("cfg-output-dir-is-file", _output_file, 2,
         ["tunesmith.yaml:3", "'output_dir'", "runs is a file"]),
    Case("cfg-output-dir-parent-is-file", _output_parent_file, 2,
         ["'output_dir'", "runs is a file"]),
    Case("cfg-tilde-expanded", _tilde, 0, ["tunesmith-runs"], _tilde_expanded),
    Case("cfg-model-missing-folder", _replace("name: tiny", "name: ./models/none"), 1,
         ["model.name './models/none'", "no such folder"]),
    Case("cfg-model-not-hub-id", _replace("name: tiny", "name: 'no such model!'"), 1,
         ["model.name 'no such model!'", "not a Hub name"]),
    Case("cfg-model-not-cached-offline", _replace("name: tiny", "name: nobody/no-model-x"), 1,
         ["model.name 'nobody/no-model-x'", "not in the local Hugging Face cache"]),
    Case("cfg-model-folder-without-config", _model_folder_without_config, 1,
         ["weights", "no config.json"]),
    Case("cfg-model-gguf-missing", _replace("name: tiny", "name: ./none.gguf"), 1,
         ["none.gguf", "no such GGUF file"]),
]

# -- flags -----------------------------------------------------------------------------------

FLAG_CASES = [
    Case("set-bad-type", _config(CONFIG, "--set", "data.chunk.max_chars=abc"), 2,
         ["--set data.chunk.max_chars=abc", "valid integer"]),
    Case("set-out-of-range-over-file-key", _config(CONFIG, "--set", "data.split.val=2"), 2,
         ["--set data.split.val=2", "data.split.val"]),
    Case("set-unknown-key", _config(CONFIG, "--set", "data.chunk.max_char=400"), 2,
         ["--set", "data.chunk.max_char", "did you mean 'data.chunk.max_chars'"]),
    Case("set-no-equals", _config(CONFIG, "--set", "data.chunk.max_chars"), 2,
         ["--set 'data.chunk.max_chars'", "KEY.PATH=VALUE"]),
    Case("set-output-dir-is-file",
         lambda tmp: (tmp / "f").write_text("x") and _config(CONFIG, "--set",
                                                              f"output_dir={tmp / 'f'}")(tmp),
         2, ["--set output_dir=", "is a file"]),
    Case("set-cross-field", _config(CONFIG, "--set", "data.mix.unanswerable=0.95"), 2,
         ["--set data.mix.unanswerable=0.95", "data.mix"]),
    Case("flag-unknown-option", _config(CONFIG, "--frobnicate"), 2, ["--frobnicate"]),
]


# -- QA records (JSONL) ----------------------------------------------------------------------


def _export(extra: list[str] | None = None, rows: list[Any] | None = None, fmt: str = "chat",
            *flags: str) -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        src = _jsonl(tmp / "records.jsonl", GOOD if rows is None else rows, extra)
        return ["data", "export", fmt, str(src), "--out", str(tmp / "out.jsonl"), *flags]

    return setup


def _exported(n: int = 3) -> Callable[[Path], None]:
    def check(tmp: Path) -> None:
        assert len(_lines(tmp / "out.jsonl")) == n

    return check


def _exported_squad_ids(tmp: Path) -> None:
    data = json.loads((tmp / "out.jsonl").read_text())
    ids = [qa["id"] for a in data["data"] for p in a["paragraphs"] for qa in p["qas"]]
    assert sorted(ids) == ["g1", "g1-2", "g2", "g3"]


def _size(extra: list[str], *flags: str) -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        return ["data", "size", str(_jsonl(tmp / "records.jsonl", GOOD, extra)), "--json",
                *flags]

    return setup


def _built(tmp: Path, extra: list[str]) -> Path:
    """A run folder as a data build leaves it, with ``extra`` lines in train.jsonl."""
    config = _project(tmp, 0)
    data = tmp / "runs" / "bad" / "data"
    data.mkdir(parents=True)
    _jsonl(data / "train.jsonl", GOOD, extra)
    for name in ("val", "test"):
        (data / f"{name}.jsonl").write_text("")
    (data / "stats.json").write_text("{}")
    return config


def _stats_cmd(extra: list[str], *flags: str) -> Callable[[Path], list[str]]:
    return lambda tmp: ["data", "stats", str(_built(tmp, extra)), "--json", *flags]


def _review(extra: list[str], *flags: str, out: str = "review.csv"
            ) -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        config = _built(tmp, extra)
        (tmp / "afolder").mkdir()
        return ["data", "review", "export", str(config), "--out", str(tmp / out), *flags]

    return setup


def _reviewed(tmp: Path) -> None:
    rows = (tmp / "review.csv").read_text().splitlines()
    assert len(rows) == 1 + 3 and all(f"g{i}" in "".join(rows) for i in (1, 2, 3))


BAD_SPAN = json.dumps(_record("b1", answer="7420", start=3))

JSONL_CASES = [
    Case("export-bad-json-line", _export(["{oops"]), 0, ["records.jsonl:4", "not valid JSON"],
         _exported()),
    Case("export-line-not-object", _export(["[1, 2]"]), 0,
         ["records.jsonl:4", "expected a JSON object"], _exported()),
    Case("export-answer-not-at-start", _export([BAD_SPAN]), 0,
         ["records.jsonl:4", "not found at answer_start=3"], _exported()),
    Case("export-missing-question", _export([json.dumps({"id": "m", "contexts": ["c"]})]), 0,
         ["records.jsonl:4", "key 'question'"], _exported()),
    Case("export-unknown-key", _export([json.dumps({**_record("u"), "colour": "red"})]), 0,
         ["records.jsonl:4", "key 'colour'"], _exported()),
    Case("export-unanswerable-with-answer",
         _export([json.dumps({**_record("w"), "kind": "unanswerable"})]), 0,
         ["records.jsonl:4", "unanswerable record must have answer = null"], _exported()),
    Case("export-not-utf8-line",
         lambda tmp: (_export()(tmp), (tmp / "records.jsonl").open("ab").write(
             b'{"id": "caf\xe9"}\n'))[0], 0, ["records.jsonl:4", "not UTF-8"], _exported()),
    Case("export-strict-refuses", _export(["{oops"], None, "chat", "--strict"), 1,
         ["records.jsonl:4", "not valid JSON", "--strict"]),
    Case("export-every-line-bad", _export(["{oops", "[]"], []), 1,
         ["records.jsonl", "no valid record", "2 bad lines"]),
    Case("export-empty-file", _export(None, []), 1, ["records.jsonl", "no records to export"]),
    Case("export-src-missing", lambda tmp: ["data", "export", "chat", str(tmp / "no.jsonl"),
                                            "--out", str(tmp / "o.jsonl")], 1,
         ["no.jsonl", "cannot read"]),
    Case("export-src-is-folder", lambda tmp: ["data", "export", "chat", str(tmp), "--out",
                                              str(tmp / "o.jsonl")], 1,
         ["cannot read", "Is a directory"]),
    Case("export-out-is-folder",
         lambda tmp: [*_export()(tmp)[:-2], "--out", str(tmp)], 1,
         ["--out", "is a folder"]),
    Case("export-unknown-format", _export(None, None, "parquet"), 1,
         ["parquet", "unknown dataset exporter"]),
    Case("export-duplicate-ids", _export([json.dumps(_record("g1"))], None, "squad"), 0,
         ["duplicate id 'g1' renamed 'g1-2'"], _exported_squad_ids),
    Case("size-bad-line", _size(["{oops"]), 0, ['"examples": 3', "records.jsonl:4"]),
    Case("size-strict", _size(["{oops"], "--strict"), 1, ["records.jsonl:4"]),
    Case("size-missing", lambda tmp: ["data", "size", str(tmp / "none.jsonl")], 1,
         ["none.jsonl", "no such file"]),
    Case("stats-bad-line", _stats_cmd(["{oops"]), 0, ["train.jsonl:4", "not valid JSON"]),
    Case("stats-strict", _stats_cmd(["{oops"], "--strict"), 1, ["train.jsonl:4"]),
    Case("stats-not-built", lambda tmp: ["data", "stats", str(_project(tmp, 0))], 1,
         ["no built data"]),
    Case("review-export-bad-line", _review([BAD_SPAN]), 0, ["train.jsonl:4"], _reviewed),
    Case("review-export-strict", _review([BAD_SPAN], "--strict"), 1, ["train.jsonl:4"]),
    Case("review-export-out-is-folder", _review([], out="afolder"), 1,
         ["--out", "afolder", "is a folder"]),
    Case("review-export-bad-format", _review([], "--format", "xml"), 1, ["--format 'xml'"]),
]


# -- SQuAD and the other importers -----------------------------------------------------------


def _import(content: Any, fmt: str = "squad", name: str = "squad.json",
            out: str = "records.jsonl") -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        src = tmp / name
        if isinstance(content, bytes):
            src.write_bytes(content)
        elif isinstance(content, str):
            src.write_text(content, encoding="utf-8")
        else:
            src.write_text(json.dumps(content), encoding="utf-8")
        (tmp / "afolder").mkdir()
        return ["data", "import", fmt, str(src), "--out", str(tmp / out)]

    return setup


def _imported(ids: list[str]) -> Callable[[Path], None]:
    def check(tmp: Path) -> None:
        assert sorted(r["id"] for r in _lines(tmp / "records.jsonl")) == sorted(ids)

    return check


def _moved(tmp: Path) -> None:
    rows = {r["id"]: r for r in _lines(tmp / "records.jsonl")}
    assert rows["moved"]["answer_start"] == 27 and rows["moved"]["answer"] == "7420"
    assert rows["moved"]["provenance"]["span_repair"] == "moved"


SQUAD_CASES = [
    Case("squad-not-json", _import("{\n  \"data\": [\n  oops\n"), 1,
         ["squad.json:3", "not valid JSON"]),
    Case("squad-not-squad", _import([1, 2]), 1, ["squad.json", "not SQuAD JSON"]),
    Case("squad-data-not-list", _import({"data": {"a": 1}}), 1,
         ["squad.json", "'data' list"]),
    Case("squad-wrong-importer-nq", _import(_squad(GOOD_QAS), "nq"), 1,
         ["squad.json", "no record imported as nq", "is it a nq file"]),
    Case("squad-wrong-importer-hotpotqa", _import(_squad(GOOD_QAS), "hotpotqa"), 1,
         ["squad.json", "not HotpotQA JSON"]),
    Case("squad-answer-start-repaired", _import(_squad([*GOOD_QAS, {
        "id": "moved", "question": "Which port?",
        "answers": [{"text": "7420", "answer_start": 3}]}])), 0,
         ["qas[2].answers[0]", "answer_start 3 repaired to 27"], _moved),
    Case("squad-answer-not-in-context", _import(_squad([*GOOD_QAS, {
        "id": "lost", "question": "Which port?",
        "answers": [{"text": "8080", "answer_start": 3}]}])), 0,
         ["qas[2].answers[0]", "'8080' is not in the context"], _imported(["s1", "s2"])),
    Case("squad-impossible-with-answers", _import(_squad([*GOOD_QAS, {
        "id": "both", "question": "Which port?", "is_impossible": True,
        "answers": [{"text": "7420", "answer_start": 27}]}])), 0,
         ["qas[2]", "is_impossible is true but 1 answer"], _imported(["s1", "s2", "both"])),
    Case("squad-question-without-id", _import(_squad([*GOOD_QAS, {"question": "q?"}])), 0,
         ["qas[2]", "expected 'id' and 'question'"], _imported(["s1", "s2"])),
    Case("squad-answer-start-not-int", _import(_squad([*GOOD_QAS, {
        "id": "x", "question": "q?", "answers": [{"text": "7420", "answer_start": "27"}]}])),
         0, ["qas[2].answers[0]", "answer_start: int"], _imported(["s1", "s2"])),
    Case("squad-qa-not-object", _import(_squad([*GOOD_QAS, "a string"])), 0,
         ["qas[2]", "expected 'id'"], _imported(["s1", "s2"])),
    Case("squad-paragraph-without-context", _import({"data": [{"title": "T", "paragraphs": [
        {"context": CONTEXT, "qas": GOOD_QAS}, {"qas": GOOD_QAS}]}]}), 0,
         ["paragraphs[1].context", "expected text"], _imported(["s1", "s2"])),
    Case("squad-article-not-object", _import({"data": [_squad(GOOD_QAS)["data"][0], 7]}), 0,
         ["data[1]", "paragraphs"], _imported(["s1", "s2"])),
    Case("squad-duplicate-ids", _import(_squad([*GOOD_QAS, {**GOOD_QAS[0]}])), 0,
         ["duplicate id 's1' renamed 's1-2'"], _imported(["s1", "s2", "s1-2"])),
    Case("squad-every-answer-invalid", _import(_squad([{
        "id": f"x{i}", "question": "q?", "answers": [{"text": "zzz", "answer_start": 0}]}
        for i in range(3)])), 1, ["no record imported as squad", "'zzz' is not in the context"]),
    Case("squad-no-questions", _import(_squad([])), 1, ["no record imported", "no questions"]),
    Case("squad-empty-file", _import(""), 1, ["squad.json"]),
    Case("squad-binary-file", _import(b"\x00\x01\x02{\x00"), 1, ["squad.json", "binary"]),
    Case("squad-out-is-folder", _import(_squad(GOOD_QAS), out="afolder"), 1,
         ["--out", "afolder", "is a folder"]),
    Case("squad-src-is-folder", lambda tmp: ["data", "import", "squad", str(tmp), "--out",
                                             str(tmp / "r.jsonl")], 1, ["is a folder"]),
    Case("squad-src-missing", lambda tmp: ["data", "import", "squad", str(tmp / "no.json"),
                                           "--out", str(tmp / "r.jsonl")], 1,
         ["no.json", "no such file"]),
    Case("import-unknown-format", _import(_squad(GOOD_QAS), "squadd"), 1,
         ["squadd", "did you mean 'squad'"]),
    Case("nq-not-gzip", _import(b"not gzip at all", "nq", "nq.jsonl.gz"), 1,
         ["nq.jsonl.gz", "cannot read as nq"]),
    Case("nq-gzip-of-garbage", _import(gzip.compress(b"{oops\n[]\n"), "nq", "nq.jsonl.gz"), 1,
         ["nq.jsonl.gz", "no record imported as nq", ":1"]),
    Case("hotpotqa-example-missing-keys", _import([{"_id": "h"}], "hotpotqa", "h.json"), 1,
         ["h.json", "missing key"]),
]

CASES = DOCUMENT_CASES + CONFIG_CASES + FLAG_CASES + JSONL_CASES + SQUAD_CASES


def test_the_suite_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "250")
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    args = case.setup(tmp_path)
    done = runner.invoke(app, args)
    said = " ".join(done.output.split())  # Rich may wrap a long line
    escaped = done.exception if not isinstance(done.exception, SystemExit) else None
    assert escaped is None, f"{case.name}: {type(escaped).__name__}: {escaped}"
    assert "Traceback" not in done.output
    assert done.exit_code == case.exit_code, said
    for part in case.culprit:
        assert part in said, f"{part!r} not in: {said}"
    if case.kept is not None:
        case.kept(tmp_path)
