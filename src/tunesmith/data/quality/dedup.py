"""Near-duplicate Q&A records with MinHash LSH (datasketch), hashed many records at a time.

What counts as a near-duplicate: two records whose question+answer text is near-identical
(estimated Jaccard >= the threshold over character 4-grams), whose answers normalise to the same
string (or are both absent), and whose contexts are near-identical too (same threshold). So:

- a question asked again against an *other* context (a mismatch negative) is not a duplicate;
- an entity-swapped copy (same question, other answer) is not a duplicate;
- a paraphrase that barely changes the question, about the same context, is.

The question+answer text is the LSH key, not question+context: a context is much longer than a
question, so over question+context every question about the same paragraph would look alike.

Signatures are the same numbers datasketch's ``MinHash`` computes (default ``affine32`` scheme,
``sha1_hash32``), but computed in bulk: each distinct shingle is hashed once, and the
permutations are applied to a whole batch of records with numpy (``np.minimum.reduceat``).
``bench/bench_dedup.py`` measures this against one ``MinHash.update`` per shingle.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash, MinHashLSH
from datasketch.hashfunc import sha1_hash32

from tunesmith.data.schema import QARecord
from tunesmith.utils.text import normalize_answer

# seed: "lsh = MinHashLSH(threshold=0.7, num_perm=128)"
DEFAULT_THRESHOLD = 0.7
DEFAULT_NUM_PERM = 128
SHINGLE_CHARS = 4  # measured on SQuAD questions: see docs/data.md (quality control)
_BATCH_SHINGLES = 100_000  # rows of the (shingles x permutations) matrix per batch
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_MASK32 = np.uint32(0xFFFFFFFF)

Progress = Callable[[int], None]


def normalize_text(text: str) -> str:
    """Lower case, punctuation and runs of whitespace folded to one space."""
    return _NON_WORD.sub(" ", text.lower()).strip()


def shingles(text: str, size: int = SHINGLE_CHARS) -> list[str]:
    """Character ``size``-grams of the normalised text (the whole text when shorter)."""
    norm = normalize_text(text)
    if len(norm) <= size:
        return [norm] if norm else []
    return [norm[i : i + size] for i in range(len(norm) - size + 1)]


def record_key(record: QARecord) -> str:
    """The text a record's LSH signature is computed from: question and answer."""
    return f"{record.question} || {record.answer if record.answer is not None else '<none>'}"


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, as datasketch applies it before its affine permutations."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


class SignatureHasher:
    """Bulk MinHash signatures equal to ``datasketch.MinHash(num_perm, seed)`` fed the same
    shingles.

    Each distinct shingle is hashed and permuted once: its ``num_perm`` permuted values are a
    row of a table (512 bytes a shingle at 128 permutations; character 4-grams of real text
    number in the hundreds of thousands). A batch of records is then one gather from the table
    and one ``np.minimum.reduceat``. Past ``max_cached`` distinct shingles, new ones are
    permuted per batch instead of stored.
    """

    def __init__(self, num_perm: int = DEFAULT_NUM_PERM, seed: int = 1,
                 max_cached: int = 2_000_000):
        self.num_perm = num_perm
        self.seed = seed
        self.template = MinHash(num_perm=num_perm, seed=seed)  # affine32: uint32 arithmetic
        a, b = self.template.permutations
        self._a = np.asarray(a, dtype=np.uint32)
        self._b = np.asarray(b, dtype=np.uint32)
        self._ids: dict[str, int] = {}
        self._table = np.empty((1024, num_perm), dtype=np.uint32)
        self._max_cached = max_cached

    def _permute(self, grams: Sequence[str]) -> np.ndarray:
        hv = _fmix32(np.fromiter((sha1_hash32(g.encode("utf-8")) for g in grams),
                                 dtype=np.uint32, count=len(grams)))
        with np.errstate(over="ignore"):  # uint32 wrap-around is the modulo 2**32 intended
            rows = np.multiply.outer(hv, self._a)
            rows += self._b
        return rows

    def _rows(self, grams: list[str]) -> np.ndarray:
        """The permuted rows of ``grams``, in order, adding unseen shingles to the table."""
        ids = self._ids
        known = len(ids)
        index = [ids.setdefault(g, len(ids)) for g in grams]
        if len(ids) > known:
            fresh = [g for g in dict.fromkeys(grams) if ids[g] >= known]  # in id order
            if len(ids) > self._max_cached:  # stop growing: forget the new ones
                last = max(known - 1, 0)
                rows = self._table[np.fromiter((min(i, last) for i in index), np.int64)]
                for g in fresh:
                    del ids[g]
                positions = [k for k, i in enumerate(index) if i >= known]
                rows[positions] = self._permute([grams[k] for k in positions])
                return rows
            if len(ids) > len(self._table):
                grown = np.empty((max(len(ids), 2 * len(self._table)), self.num_perm),
                                 dtype=np.uint32)
                grown[:known] = self._table[:known]
                self._table = grown
            self._table[known : len(ids)] = self._permute(fresh)
        return self._table[np.asarray(index, dtype=np.int64)]

    def signatures(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """An (n, num_perm) uint32 matrix: row i is the MinHash signature of ``texts[i]``."""
        out = np.full((len(texts), self.num_perm), _MASK32, dtype=np.uint32)
        start = 0
        while start < len(texts):
            grams: list[str] = []
            lengths: list[int] = []
            stop = start
            while stop < len(texts) and len(grams) < _BATCH_SHINGLES:
                these = shingles(texts[stop])
                grams += these
                lengths.append(len(these))
                stop += 1
            if grams:
                counts = np.asarray(lengths)
                nonempty = counts > 0
                offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))[nonempty]
                block = out[start:stop]
                block[nonempty] = np.minimum.reduceat(self._rows(grams), offsets, axis=0)
            if progress is not None:
                progress(stop - start)
            start = stop
        return out

    def minhash(self, signature: np.ndarray | None = None) -> MinHash:
        """A datasketch ``MinHash`` (for ``MinHashLSH``) holding ``signature``. The index keeps
        band hashes, not the object, so one object can be reused by assigning ``hashvalues``."""
        minhash = self.template.copy()
        if signature is not None:
            minhash.hashvalues = signature
        return minhash


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """The MinHash estimate: the share of permutations whose minima agree."""
    return float(np.count_nonzero(a == b)) / len(a)


@dataclass(frozen=True)
class Duplicate:
    """``index`` duplicates the earlier, kept ``of`` with estimated Jaccard ``similarity``."""

    index: int
    of: int
    similarity: float


def find_near_duplicates(
    keys: Sequence[str],
    threshold: float = DEFAULT_THRESHOLD,
    num_perm: int = DEFAULT_NUM_PERM,
    *,
    same: Callable[[int, int], bool] | None = None,
    hasher: SignatureHasher | None = None,
    progress: Progress | None = None,
) -> list[Duplicate]:
    """First occurrence wins: each text is checked against the texts kept before it.

    LSH candidates are confirmed by the signature estimate (LSH alone lets through pairs below
    the threshold) and, when given, by ``same(i, j)`` (any further condition, e.g. same answer).
    """
    hasher = hasher or SignatureHasher(num_perm)
    signatures = hasher.signatures(keys)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    duplicates: list[Duplicate] = []
    probe = hasher.minhash()
    for i, signature in enumerate(signatures):
        probe.hashvalues = signature
        best: Duplicate | None = None
        for j in lsh.query(probe):
            similarity = estimated_jaccard(signature, signatures[j])
            better = best is None or similarity > best.similarity
            if similarity >= threshold and better and (same is None or same(i, j)):
                best = Duplicate(i, j, similarity)
        if best is None:
            lsh.insert(i, probe, check_duplication=False)
        else:
            duplicates.append(best)
        if progress is not None and ((i + 1) % 10_000 == 0 or i + 1 == len(signatures)):
            progress((i % 10_000) + 1)
    return duplicates


def _context_groups(contexts: Sequence[str], threshold: float,
                    hasher: SignatureHasher) -> Callable[[int, int], bool]:
    """A predicate: are the contexts of rows i and j near-identical? Equal texts need no
    hashing; a distinct context is hashed only when a candidate pair needs it, and once."""
    distinct: dict[str, int] = {}
    index_of = [distinct.setdefault(c, len(distinct)) for c in contexts]
    texts = list(distinct)
    cache: dict[int, np.ndarray] = {}

    def signature(k: int) -> np.ndarray:
        if k not in cache:
            cache[k] = hasher.signatures([texts[k]])[0]
        return cache[k]

    def similar(i: int, j: int) -> bool:
        a, b = index_of[i], index_of[j]
        return a == b or estimated_jaccard(signature(a), signature(b)) >= threshold

    return similar


def find_duplicate_rows(
    keys: Sequence[str],
    answers: Sequence[str | None],
    contexts: Sequence[str],
    threshold: float = DEFAULT_THRESHOLD,
    num_perm: int = DEFAULT_NUM_PERM,
    progress: Progress | None = None,
) -> list[Duplicate]:
    """Near-duplicate rows (module docstring): near-identical ``keys`` (question and answer),
    equal normalised ``answers`` and near-identical ``contexts``. Plain strings, so a million
    rows need no record objects (``bench/bench_dedup.py``)."""
    hasher = SignatureHasher(num_perm)
    same_context = _context_groups(contexts, threshold, hasher)

    def same(i: int, j: int) -> bool:
        return answers[i] == answers[j] and same_context(i, j)

    return find_near_duplicates(keys, threshold, num_perm, same=same, hasher=hasher,
                                progress=progress)


def deduplicate_records(
    records: Sequence[QARecord],
    threshold: float = DEFAULT_THRESHOLD,
    num_perm: int = DEFAULT_NUM_PERM,
) -> tuple[list[QARecord], list[tuple[QARecord, str]]]:
    """(kept, [(dropped record, reason)]): near-duplicates as defined in the module docstring."""
    found = find_duplicate_rows(
        [record_key(r) for r in records],
        [normalize_answer(r.answer) if r.answer is not None else None for r in records],
        ["\n\n".join(r.contexts) for r in records],
        threshold, num_perm,
    )
    dropped_at = {d.index: d for d in found}
    kept = [r for i, r in enumerate(records) if i not in dropped_at]
    dropped = [
        (records[d.index], f"near-duplicate of {records[d.of].id} "
                           f"(estimated Jaccard {d.similarity:.2f} >= {threshold})")
        for d in found
    ]
    return kept, dropped
