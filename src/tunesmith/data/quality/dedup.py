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
from tunesmith.evaluate.metrics.squad_v2 import normalize_answer

# seed: "lsh = MinHashLSH(threshold=0.7, num_perm=128)"
DEFAULT_THRESHOLD = 0.7
DEFAULT_NUM_PERM = 128
SHINGLE_CHARS = 4  # measured on SQuAD questions: see docs/data.md (quality control)
_BATCH_SHINGLES = 200_000  # rows of the (shingles x permutations) matrix hashed at once
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
    shingles, with each distinct shingle hashed once (a cache) and the permutations applied to
    many records at once."""

    def __init__(self, num_perm: int = DEFAULT_NUM_PERM, seed: int = 1):
        self.num_perm = num_perm
        self.seed = seed
        self.template = MinHash(num_perm=num_perm, seed=seed)  # affine32: uint32 arithmetic
        a, b = self.template.permutations
        self._a = np.asarray(a, dtype=np.uint32)
        self._b = np.asarray(b, dtype=np.uint32)
        self._cache: dict[str, int] = {}

    def _hash(self, shingle: str) -> int:
        value = self._cache.get(shingle)
        if value is None:
            value = self._cache[shingle] = sha1_hash32(shingle.encode("utf-8"))
        return value

    def signatures(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """An (n, num_perm) uint32 matrix: row i is the MinHash signature of ``texts[i]``."""
        out = np.full((len(texts), self.num_perm), _MASK32, dtype=np.uint32)
        start = 0
        while start < len(texts):
            hashes: list[int] = []
            lengths: list[int] = []
            stop = start
            while stop < len(texts) and len(hashes) < _BATCH_SHINGLES:
                grams = shingles(texts[stop])
                hashes.extend(self._hash(g) for g in grams)
                lengths.append(len(grams))
                stop += 1
            self._fill(out[start:stop], hashes, lengths)
            if progress is not None:
                progress(stop - start)
            start = stop
        return out

    def _fill(self, out: np.ndarray, hashes: list[int], lengths: list[int]) -> None:
        if not hashes:
            return
        hv = _fmix32(np.asarray(hashes, dtype=np.uint32))
        with np.errstate(over="ignore"):  # uint32 wrap-around is the modulo 2**32 intended
            permuted = hv[:, None] * self._a[None, :] + self._b[None, :]
        counts = np.asarray(lengths)
        nonempty = counts > 0
        offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))[nonempty]
        out[nonempty] = np.minimum.reduceat(permuted, offsets, axis=0)

    def minhash(self, signature: np.ndarray) -> MinHash:
        """A datasketch ``MinHash`` holding a row of :meth:`signatures` (for ``MinHashLSH``)."""
        return MinHash(num_perm=self.num_perm, seed=self.seed, hashvalues=signature,
                       permutations=self.template.permutations, scheme=self.template.scheme)


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
    for i, signature in enumerate(signatures):
        minhash = hasher.minhash(signature)
        best: Duplicate | None = None
        for j in lsh.query(minhash):
            similarity = estimated_jaccard(signature, signatures[j])
            better = best is None or similarity > best.similarity
            if similarity >= threshold and better and (same is None or same(i, j)):
                best = Duplicate(i, j, similarity)
        if best is None:
            lsh.insert(i, minhash, check_duplication=False)
        else:
            duplicates.append(best)
        if progress is not None and (i + 1) % 10_000 == 0:
            progress(10_000)
    return duplicates


def _context_groups(records: Sequence[QARecord], threshold: float,
                    hasher: SignatureHasher) -> Callable[[int, int], bool]:
    """A predicate: do records i and j have near-identical contexts? Each distinct context is
    hashed once."""
    distinct: dict[str, int] = {}
    index_of = [distinct.setdefault("\n\n".join(r.contexts), len(distinct)) for r in records]
    signatures = hasher.signatures(list(distinct))

    def similar(i: int, j: int) -> bool:
        a, b = index_of[i], index_of[j]
        return a == b or estimated_jaccard(signatures[a], signatures[b]) >= threshold

    return similar


def deduplicate_records(
    records: Sequence[QARecord],
    threshold: float = DEFAULT_THRESHOLD,
    num_perm: int = DEFAULT_NUM_PERM,
) -> tuple[list[QARecord], list[tuple[QARecord, str]]]:
    """(kept, [(dropped record, reason)]): near-duplicates as defined in the module docstring."""
    hasher = SignatureHasher(num_perm)
    answers = [normalize_answer(r.answer) if r.answer is not None else None for r in records]
    same_context = _context_groups(records, threshold, hasher)

    def same(i: int, j: int) -> bool:
        return answers[i] == answers[j] and same_context(i, j)

    found = find_near_duplicates([record_key(r) for r in records], threshold, num_perm,
                                 same=same, hasher=hasher)
    dropped_at = {d.index: d for d in found}
    kept = [r for i, r in enumerate(records) if i not in dropped_at]
    dropped = [
        (records[d.index], f"near-duplicate of {records[d.of].id} "
                           f"(estimated Jaccard {d.similarity:.2f} >= {threshold})")
        for d in found
    ]
    return kept, dropped

