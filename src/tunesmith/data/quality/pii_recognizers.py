"""Presidio recognizers added to the stock ones for support tickets.

All are Presidio's own classes (``PatternRecognizer`` with ``Pattern`` and context words, and
predefined recognizers that Presidio ships disabled), measured on the labelled ticket set
(``bench/bench_pii_recall.py``; the numbers are in docs/benchmarks.md, "PII recall"):

- ``STREET_ADDRESS``: Presidio has no address recognizer; a house number, up to four words and
  a street type (``221B Baker Street``, ``1425 N Clark St, Apt 702``), a continental street
  (``5 Rue de Rivoli``, ``Via Roma 21``, ``Hauptstraße 12``), each with an optional unit, town
  and postcode (US ZIP, UK, Canadian, 4-5 digit European), so the whole address goes;
- ``PERSON`` in the places a ticket puts names: after a greeting or sign-off (``Hi Carlos``,
  ``Kind regards, Eleanor Price``), a self-introduction (``this is Jonas Becker``), a field
  label (``Cardholder: Haruto Sato``), or, for two or three capitalised words, after
  ``for``/``with``/``of``/``by``. spaCy's small model tags such names as ORG about one time in
  ten (``Contact Nadia Petrova``); where it does find them, its span and this one agree;
- ``CREDIT_CARD``: Presidio's recognizer with one more pattern for Mastercard's 2-series
  (2221-2720, issued since 2017), which the stock pattern leaves out; the Luhn check stays;
- ``UK_NINO`` and ``CA_SIN``: Presidio's ``UkNinoRecognizer`` and ``CaSinRecognizer``, which
  its default configuration leaves disabled.
"""

from __future__ import annotations

from typing import Any

import regex

# case matters in these patterns (a name or a street starts with a capital): Presidio's
# default flags add IGNORECASE, so they get their own (cue words use inline (?i:...))
_FLAGS = regex.MULTILINE

_STREET_TYPES = (
    "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|"
    "Terrace|Close|Crescent|Square|Sq|Parkway|Pkwy|Highway|Hwy|Row|Mews|Gardens|Walk|Hill|"
    "Grove|Circle|Cir|Trail|Quay|Wharf"
)
_WORD = r"[\p{Lu}\d][\p{L}\d'’.-]*"
_UNIT = (r"(?:,?[ ](?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Room|Rm|Building|Bldg|#)"
         r"\.?[ ]?#?[\w-]+)")
_POSTCODE = (
    r"(?:\d{5}(?:-\d{4})?"  # US ZIP, DE/FR/IT/ES
    r"|\p{Lu}\d\p{Lu}[ ]?\d\p{Lu}\d"  # Canada
    r"|\p{Lu}{1,2}\d[\p{Lu}\d]?[ ]?\d\p{Lu}{2}"  # UK
    r"|\d{4}"  # AU, NL, CH, AT, BE
    r"|\d{1,2})"  # Dublin 2
)
# ", Springfield, OR 97403", ", London NW1 6XE", ", Sydney NSW 2000", ", Dublin 2"
_TOWN = (
    rf"(?:,[ ]\p{{Lu}}[\p{{L}}'’.-]*(?:[ ]\p{{Lu}}[\p{{L}}'’.-]*){{0,2}}"
    rf"(?:,?[ ](?:\p{{Lu}}{{2,3}}[ ])?{_POSTCODE})?(?![\w]))"
)
_TOWN_AFTER_POSTCODE = r"(?:,[ ]\d{4,5}[ ]\p{Lu}[\p{L}'’-]+(?:[ ]\p{Lu}[\p{L}'’-]+)?)"

ADDRESS_PATTERNS = [
    # 742 Evergreen Terrace; 1600 Pennsylvania Ave NW, Apt 4B, Washington, DC 20500
    (r"\b\d{1,5}[A-Z]?[ ](?:[NSEW]\.?[ ])?(?:" + _WORD + r"[ ]){0,3}(?:" + _STREET_TYPES +
     r")\.?(?:[ ](?:NW|NE|SW|SE|North|South|East|West))?\b" + _UNIT + "?" + _TOWN + "?",
     0.6),
    # 5 Rue de Rivoli, 75001 Paris; 402 Rue Sainte-Catherine Ouest
    (r"\b\d{1,5}(?:[ ]?(?:bis|ter))?,?[ ](?:Rue|Avenue|Boulevard|Bd|Chemin|Place|Allée|Quai|"
     r"Impasse|Calle|Avenida|Rua|Paseo)[ ](?:(?:de|du|des|la|le|del|da|do)[ ]|[ld]['’])*"
     r"\p{Lu}[\p{L}'’-]*(?:[ ]\p{Lu}[\p{L}'’-]*){0,3}" + _UNIT + "?" +
     rf"(?:{_TOWN_AFTER_POSTCODE}|{_TOWN})?", 0.6),
    # Via Roma 21, 00184 Roma; Calle Mayor 5
    (r"\b(?:Via|Viale|Piazza|Corso|Calle|Avenida|Rua|Carrer)[ ](?:\p{Lu}[\p{L}'’-]*[ ]){1,3}"
     r"\d{1,4}[a-z]?\b" + _UNIT + "?" + _TOWN_AFTER_POSTCODE + "?", 0.5),
    # Hauptstraße 12, 10115 Berlin
    (r"\b\p{Lu}[\p{L}-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|damm|ring)[ ]\d{1,4}"
     r"[a-z]?\b" + _TOWN_AFTER_POSTCODE + "?", 0.5),
]
ADDRESS_CONTEXT = ["address", "ship", "shipping", "deliver", "delivery", "courier", "parcel",
                   "package", "mail", "mailing", "billing", "live", "moved", "office",
                   "street", "send", "return"]

_TOKEN = r"\p{Lu}(?:['’]\p{Lu})?\p{Ll}+(?:\p{Lu}\p{Ll}+)?(?:-\p{Lu}\p{Ll}+)?"
_PARTICLE = r"(?:de|da|di|del|della|van|von|der|den|du|dos|das|le|la|bin|al|ter)"
_NAME_TAIL = rf"(?:[ ](?:{_PARTICLE}[ ])*{_TOKEN})"
_END = r"(?![\p{L}\d@])"
_TITLE = r"(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?[ ])?"
_GREETING = (r"(?i:\b(?:hi|hello|hey|dear|thanks|thank[ ]you|many[ ]thanks|regards|"
             r"kind[ ]regards|best[ ]regards|best[ ]wishes|best|cheers|sincerely|yours|"
             r"cordialement|grüßen|saludos|saluti))[,!]?\s+")
_SIGNATURE = r"(?:--|—)\s*"
_INTRO = r"(?i:\b(?:i[ ]am|i'm|this[ ]is|it's|my[ ]name[ ]is|name[ ]is))[ ]"
_FIELD = (r"(?i:\b(?:name|full[ ]name|customer[ ]name|cardholder|card[ ]holder|"
          r"account[ ]holder|holder|titular|contact|contact[ ]person|employee|payer|payee|"
          r"agent|caller|customer|recipient|attention|attn|ask[ ]for|reported[ ]by|"
          r"requested[ ]by|submitted[ ]by|owner|patient|finance|assignee|from:|cc))"
          r":?[ ]")
_WEAK = r"(?i:\b(?:for|with|of|by))[ ]"

PERSON_PATTERNS = [
    (rf"(?<={_GREETING}|{_SIGNATURE}|{_INTRO}|{_FIELD}){_TITLE}{_TOKEN}{_NAME_TAIL}{{0,2}}{_END}",
     0.6),
    # below the threshold unless a context word stands within five words before: "of West
    # Francia" in prose stays, "account of Daan de Vries" goes
    (rf"(?<={_WEAK}){_TOKEN}{_NAME_TAIL}{{1,2}}{_END}", 0.1),
]
# Presidio matches context words as substrings of the lemmas before a finding ("holder" in
# "cardholder"), so short words that hide inside others ("sin" in "using") are left out
PERSON_CONTEXT = ["account", "contact", "customer", "client", "employee", "colleague",
                  "staff", "member", "patient", "holder", "user", "caller", "check", "call",
                  "ssn", "nhs", "nino", "insurance", "payroll"]

# Mastercard's 2-series prefixes, 2221-2720, issued since 2017
MASTERCARD_2_SERIES = (r"\b(2(?:2[2-9]\d|[3-6]\d\d|7[01]\d|720))"
                       r"[- ]?(\d{4})[- ]?(\d{4})[- ]?(\d{4})\b")


def ticket_recognizers(language: str = "en", name_patterns: bool = True) -> list[Any]:
    """Recognizers to add to Presidio's registry (the stock credit card one is replaced)."""
    from presidio_analyzer import Pattern, PatternRecognizer
    from presidio_analyzer.predefined_recognizers import (
        CaSinRecognizer,
        CreditCardRecognizer,
        UkNinoRecognizer,
    )

    recognizers: list[Any] = [
        PatternRecognizer(
            supported_entity="STREET_ADDRESS", name="StreetAddressRecognizer",
            supported_language=language, context=ADDRESS_CONTEXT, global_regex_flags=_FLAGS,
            patterns=[Pattern(f"street address {i}", rx, score)
                      for i, (rx, score) in enumerate(ADDRESS_PATTERNS)]),
        CreditCardRecognizer(
            supported_language=language,
            patterns=[*CreditCardRecognizer.PATTERNS,
                      Pattern("Mastercard 2-series (weak)", MASTERCARD_2_SERIES, 0.3)]),
        UkNinoRecognizer(supported_language=language),
        CaSinRecognizer(supported_language=language),
    ]
    if name_patterns:
        recognizers.append(PatternRecognizer(
            supported_entity="PERSON", name="TicketNameRecognizer",
            supported_language=language, context=PERSON_CONTEXT, global_regex_flags=_FLAGS,
            patterns=[Pattern(f"name in a ticket {i}", rx, score)
                      for i, (rx, score) in enumerate(PERSON_PATTERNS)]))
    return recognizers
