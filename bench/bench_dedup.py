"""Benchmark: near-duplicate removal of short Q&A records, tunesmith's bulk path vs the naive
datasketch loop, in one process.

Both paths run the same algorithm (``tunesmith.data.quality.dedup``): character 4-gram shingles
of question+answer, MinHash (128 permutations, datasketch's ``affine32`` scheme), ``MinHashLSH``
(threshold 0.7), each candidate confirmed by its estimated Jaccard, equal answers and
near-identical contexts. They differ only in how signatures are made:

- naive: one ``MinHash`` per record and per context, ``update`` once per shingle;
- bulk (what the library uses): each distinct shingle hashed once, the permutations applied to
  batches of records with numpy (``SignatureHasher``).

The records are synthetic (made-up words, so no two planted groups collide by chance); 2% are
planted near-duplicates of an earlier record (a typo, a dropped or added article, two words
swapped, case and punctuation changes). Reported: records/s of each path, the ratio, and the
share of planted near-duplicates each path found (recall) and of other records it dropped.
Rates are given per wall-clock second and per CPU second of this process (``process_time``):
on a shared machine the CPU rate is the one that does not depend on the neighbours' load.

    python bench/bench_dedup.py [--records 1000000] [--naive-sample 20000]
"""

from __future__ import annotations

import argparse
import platform
import random
import time
from collections.abc import Sequence
from datetime import date
from importlib import metadata

from datasketch import MinHash, MinHashLSH
from rich.progress import Progress

from tunesmith.data.quality.dedup import Duplicate, find_duplicate_rows, shingles

THRESHOLD = 0.7
NUM_PERM = 128
_WH = ["What", "Which", "When", "Where", "Who", "How many", "How much"]
_VERBS = ["is", "does", "was", "did", "can", "will", "has"]


class Rows:
    """Plain columns of short Q&A records, and which rows are planted copies."""

    def __init__(self, n: int, planted_share: float, seed: int):
        rng = random.Random(seed)
        syllables = [a + b for a in "bdfgklmnprstvz" for b in "aeiou"]
        vocab = list({"".join(rng.choices(syllables, k=rng.randint(2, 4)))
                      for _ in range(40_000)})
        self.keys: list[str] = []
        self.answers: list[str | None] = []
        self.contexts: list[str] = []
        self.planted: set[int] = set()
        originals: list[int] = []
        for i in range(n):
            if originals and rng.random() < planted_share:
                source = rng.choice(originals)
                question = _perturb(self.keys[source].split(" || ")[0], rng)
                answer = self.answers[source]
                context = self.contexts[source]
                self.planted.add(i)
            else:
                words = rng.sample(vocab, rng.randint(4, 8))
                question = (f"{rng.choice(_WH)} {rng.choice(_VERBS)} the "
                            f"{' '.join(words)}?")
                answer = " ".join(rng.sample(vocab, rng.randint(1, 3)))
                context = f"The {' '.join(words[:3])} {rng.choice(_VERBS)} {answer}."
                originals.append(i)
            self.keys.append(f"{question} || {answer}")
            self.answers.append(answer)
            self.contexts.append(context)

    def head(self, n: int) -> tuple[list[str], list[str | None], list[str], set[int]]:
        return (self.keys[:n], self.answers[:n], self.contexts[:n],
                {i for i in self.planted if i < n})


def _perturb(text: str, rng: random.Random) -> str:
    words = text.split()
    edit = rng.randrange(5)
    if edit == 0:  # a typo: two neighbouring letters swapped
        i = rng.randrange(1, len(text) - 2)
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if edit == 1:
        if "the" in words:
            words.remove("the")
        else:
            words.insert(1, "the")
        return " ".join(words)
    if edit == 2:
        return text.lower().rstrip("?") + " ?"
    if edit == 3 and len(words) > 3:
        i = rng.randrange(1, len(words) - 2)
        words[i], words[i + 1] = words[i + 1], words[i]
        return " ".join(words)
    return text.replace("?", "").strip() + "??"


def _naive_minhash(text: str) -> MinHash:
    minhash = MinHash(num_perm=NUM_PERM)
    for gram in shingles(text):
        minhash.update(gram.encode("utf-8"))
    return minhash


def naive_dedup(keys: Sequence[str], answers: Sequence[str | None],
                contexts: Sequence[str]) -> list[Duplicate]:
    """The same algorithm with one MinHash at a time, updated once per shingle."""
    context_minhash: dict[str, MinHash] = {}
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    kept: dict[int, MinHash] = {}
    found: list[Duplicate] = []
    for i, key in enumerate(keys):
        minhash = _naive_minhash(key)
        if contexts[i] not in context_minhash:
            context_minhash[contexts[i]] = _naive_minhash(contexts[i])
        best: Duplicate | None = None
        for j in lsh.query(minhash):
            similarity = minhash.jaccard(kept[j])
            same_context = contexts[i] == contexts[j] or context_minhash[contexts[i]].jaccard(
                context_minhash[contexts[j]]) >= THRESHOLD
            if (similarity >= THRESHOLD and answers[i] == answers[j] and same_context
                    and (best is None or similarity > best.similarity)):
                best = Duplicate(i, j, similarity)
        if best is None:
            lsh.insert(i, minhash, check_duplication=False)
            kept[i] = minhash
        else:
            found.append(best)
    return found


def score(found: list[Duplicate], planted: set[int], n: int) -> tuple[float, float]:
    dropped = {d.index for d in found}
    recall = len(dropped & planted) / max(1, len(planted))
    false_drops = len(dropped - planted) / max(1, n - len(planted))
    return recall, false_drops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--naive-sample", type=int, default=20_000)
    parser.add_argument("--planted", type=float, default=0.02)
    args = parser.parse_args()

    start = time.perf_counter()
    rows = Rows(args.records, args.planted, seed=0)
    print(f"generated {args.records:,} records ({len(rows.planted):,} planted) in "
          f"{time.perf_counter() - start:.1f} s")

    keys, answers, contexts, planted = rows.head(args.naive_sample)
    start, cpu = time.perf_counter(), time.process_time()
    naive_found = naive_dedup(keys, answers, contexts)
    naive_seconds, naive_cpu = time.perf_counter() - start, time.process_time() - cpu
    naive_rate = len(keys) / naive_seconds
    naive_recall, naive_false = score(naive_found, planted, len(keys))

    # the bulk path on the same sample, then on everything
    start, cpu = time.perf_counter(), time.process_time()
    sample_found = find_duplicate_rows(keys, answers, contexts, THRESHOLD, NUM_PERM)
    sample_seconds, sample_cpu = time.perf_counter() - start, time.process_time() - cpu
    sample_rate = len(keys) / sample_seconds

    with Progress() as progress:
        task = progress.add_task("bulk dedup", total=args.records)
        start, cpu = time.perf_counter(), time.process_time()
        bulk_found = find_duplicate_rows(rows.keys, rows.answers, rows.contexts, THRESHOLD,
                                         NUM_PERM, progress=lambda n: progress.advance(task, n))
        bulk_seconds, bulk_cpu = time.perf_counter() - start, time.process_time() - cpu
    bulk_rate = args.records / bulk_seconds
    bulk_recall, bulk_false = score(bulk_found, rows.planted, args.records)
    same_answer = {(d.index, d.of) for d in sample_found} == {(d.index, d.of)
                                                              for d in naive_found}

    print(f"\n- date: {date.today().isoformat()}")
    print(f"- machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
          f"python {platform.python_version()}")
    print(f"- versions: datasketch {metadata.version('datasketch')}, "
          f"numpy {metadata.version('numpy')}")
    print("\n| path | records | wall s | CPU s | records/s (wall) | records/s (CPU) | "
          "planted found | other records dropped |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print(f"| naive (one MinHash, update per shingle) | {len(keys):,} | {naive_seconds:.1f} | "
          f"{naive_cpu:.1f} | {naive_rate:,.0f} | {len(keys) / naive_cpu:,.0f} | "
          f"{naive_recall:.1%} | {naive_false:.3%} |")
    print(f"| bulk, same sample | {len(keys):,} | {sample_seconds:.1f} | {sample_cpu:.1f} | "
          f"{sample_rate:,.0f} | {len(keys) / sample_cpu:,.0f} | - | - |")
    print(f"| bulk (tunesmith) | {args.records:,} | {bulk_seconds:.1f} | {bulk_cpu:.1f} | "
          f"{bulk_rate:,.0f} | {args.records / bulk_cpu:,.0f} | {bulk_recall:.1%} | "
          f"{bulk_false:.3%} |")
    print(f"\nspeed-up, bulk over naive, per CPU second: "
          f"{(args.records / bulk_cpu) / (len(keys) / naive_cpu):.1f}x at {args.records:,} "
          f"records ({naive_cpu / sample_cpu:.1f}x on the same {len(keys):,}); per wall "
          f"second: {bulk_rate / naive_rate:.1f}x ({sample_rate / naive_rate:.1f}x); "
          f"same duplicates found on the sample: {same_answer}")

if __name__ == "__main__":
    main()
