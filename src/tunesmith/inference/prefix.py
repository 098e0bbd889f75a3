"""Shared prompt prefixes: which prompts to answer from one prefix's KV cache, and in which
batches.

Evaluation, calibration and the guard ask several questions about each context, and every
prompt of a context begins with the same tokens (the system message, ``Context: ...``, the
``Question:`` label). :func:`tunesmith.inference.generate.generate` runs such a prefix once per
batch and decodes each prompt of the group from a copy of its cache plus the prompt's own
suffix, instead of running the whole prompt once per question.

Groups come from the token ids of the full prompts (never from tokenizing a prefix alone,
whose last token could differ from the full prompt's at the boundary): the prompts sorted as
id lists, the split of that order into runs that saves the most prompt tokens, each run's
prefix the longest common prefix of its members.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MIN_SHARED_PREFIX = 32
"""Fewest shared tokens worth a group: below, the prefix's own forward pass and the batching it
constrains cost about what sharing saves (a system message alone is about this long)."""

_WINDOW = 128  # the most prompts one group is searched over: keeps the split O(n * 128)


@dataclass(frozen=True)
class PrefixGroup:
    """Prompts (their positions in the input) that share their first ``prefix`` tokens; a
    prompt that shares nothing worth it is a group of one with ``prefix`` 0."""

    prefix: int
    members: tuple[int, ...]


@dataclass(frozen=True)
class Row:
    """One prompt of a batch: its position in the input, how many of its tokens are the
    shared prefix (0: none), and which prefix (its group's number) it shares."""

    index: int
    prefix: int
    group: int


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def group_by_prefix(ids: Sequence[Sequence[int]],
                    min_prefix: int = MIN_SHARED_PREFIX) -> list[PrefixGroup]:
    """The split of ``ids`` (one token id list per prompt) into groups that saves the most
    prompt tokens: a group of ``n`` prompts sharing ``L`` tokens saves ``(n - 1) * L``; only
    groups of two or more sharing at least ``min_prefix`` tokens are formed. A member always
    keeps at least one token of its own (generation starts from it)."""
    order = sorted(range(len(ids)), key=lambda i: list(ids[i]))
    n = len(order)
    adjacent = [_common(ids[order[k]], ids[order[k + 1]]) for k in range(n - 1)]
    best = [0] * (n + 1)  # best[j]: tokens saved by the best split of order[:j]
    start = list(range(-1, n))  # start[j]: where that split's last group begins
    for j in range(1, n + 1):
        best[j], start[j] = best[j - 1], j - 1  # order[j - 1] alone
        shared = len(ids[order[j - 1]]) - 1
        for i in range(j - 2, max(-1, j - 1 - _WINDOW), -1):  # the group order[i:j]
            shared = min(shared, adjacent[i], len(ids[order[i]]) - 1)
            if shared < min_prefix:
                break
            if best[i] + (j - 1 - i) * shared > best[j]:
                best[j], start[j] = best[i] + (j - 1 - i) * shared, i
    groups: list[PrefixGroup] = []
    j = n
    while j > 0:
        i = start[j]
        members = tuple(order[i:j])
        prefix = 0 if len(members) < 2 else min(
            min(adjacent[i:j - 1]), *(len(ids[m]) - 1 for m in members))
        groups.append(PrefixGroup(prefix, members))
        j = i
    return groups[::-1]


def plan_batches(groups: Sequence[PrefixGroup], lengths: Sequence[int],
                 batch_size: int) -> list[list[Row]]:
    """Batches of at most ``batch_size`` prompts: a group stays in one batch where it fits
    (its prefix then runs once; a larger group is cut into batch-size pieces, each running
    it once), pieces packed first-fit by decreasing size so the batches are few; the prompts
    without a shared prefix batched apart, by length (``lengths``: token counts), as a plain
    left-padded batch."""
    pieces: list[list[Row]] = []
    alone: list[int] = []
    for number, group in enumerate(groups):
        if group.prefix == 0:
            alone.extend(group.members)
            continue
        members = sorted(group.members, key=lambda i: lengths[i])
        for lo in range(0, len(members), batch_size):
            pieces.append([Row(i, group.prefix, number) for i in members[lo : lo + batch_size]])
    batches: list[list[Row]] = []
    for piece in sorted(pieces, key=len, reverse=True):
        home = next((b for b in batches if len(b) + len(piece) <= batch_size), None)
        if home is None:
            batches.append(list(piece))
        else:
            home.extend(piece)
    for batch in batches:  # prefixes of like length side by side: little padding
        batch.sort(key=lambda r: (r.prefix, r.group, lengths[r.index]))
    alone.sort(key=lambda i: lengths[i])
    batches.extend([Row(i, 0, -1) for i in alone[lo : lo + batch_size]]
                   for lo in range(0, len(alone), batch_size))
    return batches
