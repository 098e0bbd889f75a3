"""BLEU and ROUGE-L: n-gram overlap with the reference answers, for answers longer than a span.

SQuAD's EM and F1 suit short extracted spans; where references run to sentences, the seed's
problem diagnosis names BLEU beside F1. BLEU is sacrebleu's corpus BLEU (Post, 2018: the
standard tokenisation, so scores compare across papers), with every reference of a question as
a reference stream; ROUGE-L is the F-measure of the longest common subsequence (Lin, 2004) from
Google's ``rouge-score``, the best over a question's references, averaged. Both on 0-100, like
the SQuAD scores, over the questions that have a reference (an unanswerable one has none).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def mean_words(references: Sequence[Sequence[str]]) -> float:
    """The mean length in words of the first reference of each question that has one."""
    firsts = [refs[0] for refs in references if refs]
    return sum(len(r.split()) for r in firsts) / len(firsts) if firsts else 0.0


def bleu(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float | None:
    """Corpus BLEU over the questions with a reference; None when none has one."""
    import sacrebleu  # deferred: only decide's long-answer scores need it

    pairs = [(p, list(refs)) for p, refs in zip(predictions, references, strict=True) if refs]
    if not pairs:
        return None
    streams = max(len(refs) for _, refs in pairs)
    # sacrebleu takes one stream per reference position; None where a question has fewer
    # (sacrebleu skips None references; its type hints do not say so)
    ref_streams: Any = [[refs[i] if i < len(refs) else None for _, refs in pairs]
                   for i in range(streams)]
    return float(sacrebleu.corpus_bleu([p for p, _ in pairs], ref_streams).score)


def rouge_l(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float | None:
    """Mean ROUGE-L F-measure (the best reference per question); None when none has one."""
    from rouge_score import rouge_scorer  # deferred: only decide's long-answer scores need it

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    scores = [max(scorer.score(r, p)["rougeL"].fmeasure for r in refs)
              for p, refs in zip(predictions, references, strict=True) if refs]
    return 100.0 * sum(scores) / len(scores) if scores else None
