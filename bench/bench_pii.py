"""Benchmark: PII detection over real paragraphs, tunesmith's path vs Presidio used plainly.

- plain: ``AnalyzerEngine.analyze`` once per text, the stock recognizers (only the e-mail one
  swapped for the offline variant, which is needed to run without network at all) plus the
  ones tunesmith adds for tickets (``pii_recognizers.ticket_recognizers``: addresses, names,
  2-series cards, UK NINO, Canadian SIN), so that both find the same things, and the full spaCy
  pipeline (parser included);
- tunesmith (``PIIRedactor.find_many``): the same analyzer and recognizers through
  ``BatchAnalyzerEngine`` (spaCy ``nlp.pipe`` batches), the parser disabled (Presidio reads
  entities, tokens and lemmas only), libphonenumber asked only about texts with >= 7 digits.

Texts: the 87 paragraphs of the shared SQuAD 2.0 sample (real Wikipedia prose), repeated to
``--texts``, plus one in ten turned into a support-ticket-like text with an e-mail address and a
phone number. Reported: paragraphs/s of each path, the ratio, and whether both found the same
findings (type and span), which they must.

    python bench/bench_pii.py [--texts 300]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date
from importlib import metadata
from pathlib import Path

from tunesmith.config.data_io import PIIConfig
from tunesmith.data.quality.pii import PIIRedactor
from tunesmith.data.quality.pii_recognizers import ticket_recognizers

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "squad_v2_sample" / \
    "dev-sample.json"


def texts(n: int) -> list[str]:
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    paragraphs = [p["context"] for a in data["data"] for p in a["paragraphs"]]
    out = []
    for i in range(n):
        text = paragraphs[i % len(paragraphs)]
        if i % 10 == 0:
            text = (f"Ticket {i}: customer Dana Whitfield (dana.whitfield{i}@example.com, "
                    f"+1 415 555 01{i % 100:02d}) asks about this passage. {text}")
        out.append(text)
    return out


def plain_analyzer(config: PIIConfig):  # type: ignore[no-untyped-def]
    """Presidio as its README shows it, kept offline."""
    import tldextract
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import EmailRecognizer

    extract = tldextract.TLDExtract(suffix_list_urls=())

    class OfflineEmail(EmailRecognizer):  # type: ignore[misc]
        def validate_result(self, pattern_text: str) -> bool:
            return extract(pattern_text).fqdn != ""

    engine = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": config.spacy_model}]}).create_engine()
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=engine)
    registry.remove_recognizer("EmailRecognizer")
    registry.add_recognizer(OfflineEmail())
    registry.remove_recognizer("CreditCardRecognizer")  # as tunesmith does: one more pattern
    for recognizer in ticket_recognizers("en", name_patterns=config.name_patterns):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(nlp_engine=engine, registry=registry, supported_languages=["en"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=300)
    args = parser.parse_args()
    corpus = texts(args.texts)
    config = PIIConfig(enabled=True)
    redactor = PIIRedactor(config)
    entities = [*redactor.entities, "URL"]
    plain = plain_analyzer(config)
    plain.analyze(corpus[0], language="en", entities=entities)  # warm both up
    redactor.find_many(corpus[:8])

    start = time.perf_counter()
    found_plain = [
        [(r.entity_type, r.start, r.end) for r in
         plain.analyze(text, language="en", entities=entities,
                       score_threshold=config.score_threshold)
         if r.entity_type in redactor.entities]
        for text in corpus
    ]
    plain_s = time.perf_counter() - start
    start = time.perf_counter()
    found_ours = [[(r.entity_type, r.start, r.end) for r in results]
                  for results in redactor.find_many(corpus)]
    ours_s = time.perf_counter() - start

    # what redaction changes: the characters covered by some finding
    def covered(found: list[tuple[str, int, int]]) -> set[int]:
        return {i for _, start, end in found for i in range(start, end)}

    same = sum(covered(a) == covered(b) for a, b in zip(found_ours, found_plain, strict=True))
    print(f"machine: {platform.processor() or platform.machine()}, {platform.system()}; "
          f"date {date.today()}; presidio-analyzer {metadata.version('presidio-analyzer')}, "
          f"spacy {metadata.version('spacy')}")
    print(f"texts: {len(corpus)} (mean {sum(map(len, corpus)) / len(corpus):.0f} chars)")
    print(f"plain Presidio : {len(corpus) / plain_s:8.1f} texts/s ({plain_s:.1f} s)")
    print(f"tunesmith      : {len(corpus) / ours_s:8.1f} texts/s ({ours_s:.1f} s)")
    print(f"ratio          : {plain_s / ours_s:.2f}x")
    print(f"texts where both cover the same characters: {same}/{len(corpus)}; findings "
          f"plain {sum(map(len, found_plain))} (overlaps included), tunesmith "
          f"{sum(map(len, found_ours))} (one per span)")


if __name__ == "__main__":
    main()
