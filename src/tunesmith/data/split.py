"""A deterministic split by document: no document contributes to two splits."""

from __future__ import annotations

from collections.abc import Sequence

from tunesmith.utils.hashing import sha256_bytes

SPLITS = ("train", "val", "test")


def split_documents(
    doc_ids: Sequence[str], val: float, test: float, seed: int
) -> dict[str, list[str]]:
    """Order documents by a seeded hash of their id, then cut test, val and train in turn.

    The order depends only on the ids and the seed, so adding a document moves no other
    document between splits. A non-zero fraction always gets at least one document when
    there are enough documents to leave one for training.
    """
    ordered = sorted(set(doc_ids), key=lambda d: sha256_bytes(f"{seed}:{d}".encode()))
    n = len(ordered)

    def size(fraction: float) -> int:
        return max(1, round(fraction * n)) if fraction > 0 and n >= 3 else 0

    n_test, n_val = size(test), size(val)
    return {
        "test": ordered[:n_test],
        "val": ordered[n_test : n_test + n_val],
        "train": ordered[n_test + n_val :],
    }
