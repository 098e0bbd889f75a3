"""Turn a file's bytes into text: BOMs, then strict UTF-8, then charset-normalizer.

Binary files (NUL bytes in a file that is not UTF-16/32) and bytes no encoding explains are
refused with a reason; the caller records a skip instead of feeding mojibake to a generator.
"""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

from tunesmith.data.sources.base import SkipFile

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# charset-normalizer ranks single-byte Latin code pages that decode the same bytes into
# the same letters as near-ties (cp1257 vs cp1252 for French text); a tie goes to cp1252,
# the legacy encoding of most Western text.
_TIE = 0.05
_PREFERRED = "cp1252"


def is_binary(raw: bytes) -> bool:
    """NUL bytes in the first 8 KiB of a file without a UTF-16/32 BOM: not text."""
    head = raw[:8192]
    return b"\x00" in head and not any(head.startswith(bom) for bom, _ in _BOMS)


def detect_encoding(raw: bytes) -> str:
    """The encoding that explains ``raw``; raises :class:`SkipFile` if none does."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return name
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # without a BOM, UTF-16/32 is not a plausible reading of text bytes (ASCII in UTF-16
    # has NUL bytes, refused above); charset-normalizer offers it for short inputs
    matches = [m for m in from_bytes(raw) if not str(m.encoding).startswith("utf_")]
    if not matches:
        raise SkipFile("not text in any known encoding (binary file?)")
    best = matches[0]
    tied = [m for m in matches if m.chaos <= best.chaos + _TIE]
    if any(m.encoding == _PREFERRED for m in tied) or len(tied) > 1 and _western(raw):
        return _PREFERRED  # a tie (short texts tie between many code pages) goes to cp1252
    return str(best.encoding)


def _western(raw: bytes) -> bool:
    """Bytes that read as Western text in cp1252: they decode, and accented letters are a
    minority of the letters (in Cyrillic or Greek code pages nearly every letter is high)."""
    try:
        text = raw.decode(_PREFERRED)
    except UnicodeDecodeError:
        return False
    letters = [ch for ch in text if ch.isalpha()]
    high = sum(not ch.isascii() for ch in letters)
    return bool(letters) and high / len(letters) <= 0.4


def decode_text(raw: bytes, encoding: str | None = None) -> str:
    """Decode ``raw`` with ``encoding`` (forced) or the detected one; BOMs are dropped."""
    if encoding is None and is_binary(raw):
        raise SkipFile("binary file (NUL bytes), not text")
    name = encoding or detect_encoding(raw)
    try:
        return raw.decode(name)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SkipFile(f"cannot decode as {name}: {exc}") from None
