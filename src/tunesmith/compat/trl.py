"""The private parts of transformers' ``Trainer`` and TRL's ``SFTTrainer`` that tunesmith's
trainer (``train/sft.py``) reads and writes, in one place.

Each is an implementation detail upstream, so each has a test in
``tests/unit/compat/test_trl_compat.py`` that fails when an upgrade renames or reshapes it
(checked against transformers 5.24 and TRL 1.16, the versions of ``requirements.lock``):

- the running sums a checkpoint must hold for an exact resume (the Trainer's ``_tr_loss``,
  ``_total_loss_scalar``, ``_globalstep_last_logged``; TRL's ``_total_train_tokens`` and the
  ``_metrics`` it has not logged yet);
- TRL's metric lists (``_metrics[mode]``), which the supervised-head loss fills as TRL's own
  loss does;
- where ``Trainer._save_checkpoint`` writes (``_get_output_dir(trial)`` and
  ``checkpoint-<step>``);
- TRL's fused LM head (``trl.trainer.utils.add_fused_lm_head``), patched onto a base model
  scored beside the trained one;
- the ``label_smoothing_factor`` deprecation TRL 1.x warns on every run while it still applies
  the smoothing.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from trl.trainer.utils import add_fused_lm_head

# TRL 1.x: "`label_smoothing_factor` is deprecated in `SFTTrainer` and will be removed in v2.0.0"
LABEL_SMOOTHING_DEPRECATION = "`label_smoothing_factor` is deprecated"
# the outputs TRL's own fused head computes for its loss and metrics (SFTTrainer.__init__)
FUSED_HEAD_OUTPUTS = ("log_probs", "entropy", "is_top1")


def running_sums(trainer: Any) -> dict[str, Any]:
    """The Trainer's and TRL's in-memory running sums (JSON-ready)."""
    return {"tr_loss": float(trainer._tr_loss.item()),
            "total_loss": float(trainer._total_loss_scalar),
            "last_logged_step": int(trainer._globalstep_last_logged),
            "total_train_tokens": int(trainer._total_train_tokens),
            "pending_train_metrics": {k: list(v) for k, v in trainer._metrics["train"].items()}}


def restore_running_sums(trainer: Any, saved: dict[str, Any]) -> None:
    """Put back what :func:`running_sums` returned (after the Trainer zeroed them)."""
    trainer._tr_loss = torch.tensor(saved["tr_loss"], device=trainer.args.device)
    trainer._total_loss_scalar = float(saved["total_loss"])
    trainer._globalstep_last_logged = int(saved["last_logged_step"])
    trainer._total_train_tokens = int(saved["total_train_tokens"])
    trainer._metrics["train"].clear()
    trainer._metrics["train"].update(saved["pending_train_metrics"])


def mean_loss(trainer: Any) -> float | None:
    """The training loss averaged over every step so far (resumed steps included)."""
    steps = trainer.state.global_step
    return trainer._total_loss_scalar / steps if steps else None


def metric_lists(trainer: Any, mode: str) -> dict[str, list[Any]]:
    """TRL's per-mode metric lists (``"train"``/``"eval"``), averaged and cleared at each log."""
    metrics: dict[str, list[Any]] = trainer._metrics[mode]
    return metrics


def add_train_tokens(trainer: Any, count: int) -> int:
    """Add ``count`` to TRL's running count of training tokens; returns the new total."""
    trainer._total_train_tokens += count
    return int(trainer._total_train_tokens)


def checkpoint_folder(trainer: Any, trial: Any) -> Path:
    """The folder ``Trainer._save_checkpoint(model, trial)`` is about to write."""
    return (Path(trainer._get_output_dir(trial=trial))
            / f"{PREFIX_CHECKPOINT_DIR}-{trainer.state.global_step}")


def add_scoring_head(model: Any) -> None:
    """TRL's fused LM head, as TRL patches it into the model it trains."""
    add_fused_lm_head(model, outputs=FUSED_HEAD_OUTPUTS)


@contextmanager
def label_smoothing_deprecation_silenced() -> Iterator[None]:
    """TRL 1.x marks ``label_smoothing_factor`` deprecated (removal planned for 2.0) but applies
    it; a TRL that stops applying it fails test_train_regularisation's formula check."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=LABEL_SMOOTHING_DEPRECATION,
                                category=FutureWarning)
        yield
