"""Evaluation: metrics (SQuAD 2.0 and more) and the harness that runs models over a split."""
