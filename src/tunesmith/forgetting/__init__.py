"""Catastrophic forgetting, measured and mitigated (the seed's section "What is catastrophic
forgetting in LLMs?"; docs/forgetting.md).

- the probe (``probe``, ``checkers``, ``sets``, ``stage``): general-text perplexity, verifiable
  instruction following and closed-book QA of the base and the tuned model, from package data
  only; ``eval/forgetting.json``;
- the mitigations (``ewc``, ``replay``, ``curriculum``; ``mitigate`` builds them from
  ``train.forgetting``): components ``train_sft`` takes as extra losses, extra records and
  callbacks. Isolation is the choice of method (an adapter against ``full``).

A layer beside train and evaluate: it imports config, utils, data, models and inference.
"""

from tunesmith.forgetting.mitigate import Mitigations, build_mitigations
from tunesmith.forgetting.probe import ProbeResult, compare_probes, general_loss, probe_model
from tunesmith.forgetting.sets import probe_sets
from tunesmith.forgetting.stage import model_summary, probe_description, probe_run

__all__ = ["Mitigations", "ProbeResult", "build_mitigations", "compare_probes", "general_loss",
           "model_summary", "probe_description", "probe_model", "probe_run", "probe_sets"]
