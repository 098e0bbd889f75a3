"""What ``compat/trl.py`` and ``compat/transformers.py`` rely on upstream, checked on the
installed versions: an upgrade that renames or reshapes one of these fails here, named, rather
than as a wrong resume or a silent change in a run."""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path
from types import SimpleNamespace

import peft
import torch
import transformers
import trl
from transformers import Trainer
from trl.trainer.utils import add_fused_lm_head

from tunesmith.compat import trl as compat_trl
from tunesmith.compat.transformers import (
    CHECKPOINTING_PROPERTY_DEPRECATION,
    silence_peft_checkpointing_deprecation,
)


def _source(obj: object) -> str:
    return inspect.getsource(obj)  # type: ignore[arg-type]


def test_the_trainer_still_keeps_the_running_sums_under_these_names() -> None:
    loop = _source(Trainer)
    for name in ("self._tr_loss", "self._total_loss_scalar", "self._globalstep_last_logged"):
        assert name in loop, f"transformers {transformers.__version__}: {name} is gone"
    sft = _source(trl.SFTTrainer)
    assert "self._total_train_tokens" in sft and "self._metrics" in sft, trl.__version__
    assert '{"train": defaultdict(list), "eval": defaultdict(list)}' in sft  # per-mode lists


def test_running_sums_round_trip() -> None:
    def fake() -> SimpleNamespace:
        return SimpleNamespace(
            _tr_loss=torch.tensor(1.5), _total_loss_scalar=6.0, _globalstep_last_logged=3,
            _total_train_tokens=40, _metrics={"train": {"entropy": [0.5]}, "eval": {}},
            args=SimpleNamespace(device="cpu"), state=SimpleNamespace(global_step=4))

    saved = compat_trl.running_sums(fake())
    restored = fake()
    restored._tr_loss, restored._total_loss_scalar, restored._metrics["train"] = (
        torch.tensor(0.0), 0.0, {})
    compat_trl.restore_running_sums(restored, saved)
    assert compat_trl.running_sums(restored) == saved
    assert compat_trl.mean_loss(restored) == 1.5
    assert compat_trl.add_train_tokens(restored, 2) == 42


def test_checkpoint_folder_is_where_the_trainer_saves() -> None:
    assert list(inspect.signature(Trainer._save_checkpoint).parameters) == [
        "self", "model", "trial"]
    assert "trial" in inspect.signature(Trainer._get_output_dir).parameters
    assert "PREFIX_CHECKPOINT_DIR" in _source(Trainer._save_checkpoint)
    trainer = SimpleNamespace(_get_output_dir=lambda trial: "/out",
                              state=SimpleNamespace(global_step=7))
    assert compat_trl.checkpoint_folder(trainer, None) == Path("/out/checkpoint-7")


def test_the_fused_head_takes_the_outputs_trl_uses() -> None:
    assert "outputs" in inspect.signature(add_fused_lm_head).parameters
    init = _source(trl.SFTTrainer.__init__)
    for output in compat_trl.FUSED_HEAD_OUTPUTS:
        assert f'"{output}"' in init, f"TRL {trl.__version__} no longer computes {output}"


def test_the_label_smoothing_warning_still_exists_and_is_filtered() -> None:
    # once TRL stops warning (or drops the option), the filter goes
    assert compat_trl.LABEL_SMOOTHING_DEPRECATION in _source(trl.SFTTrainer)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with compat_trl.label_smoothing_deprecation_silenced():
            warnings.warn("`label_smoothing_factor` is deprecated in `SFTTrainer` and will be "
                          "removed in v2.0.0.", FutureWarning, stacklevel=1)
        warnings.warn("another", FutureWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["another"]


def test_peft_still_reads_the_deprecated_checkpointing_property() -> None:
    # once PEFT reads the new name, the filter goes
    assert "is_gradient_checkpointing" in _source(peft.PeftModel.__init__)
    prop = getattr(transformers.PreTrainedModel, "is_gradient_checkpointing", None)
    assert prop is not None, "transformers dropped the property: the filter can go"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        silence_peft_checkpointing_deprecation()
        warnings.warn("`is_gradient_checkpointing` is deprecated and will be removed in v6.",
                      FutureWarning, stacklevel=1)
    assert not caught
    assert CHECKPOINTING_PROPERTY_DEPRECATION.strip(".*") == "is_gradient_checkpointing"


def test_sft_reaches_upstream_internals_only_through_the_shims() -> None:
    from tunesmith.train import sft

    text = Path(sft.__file__).read_text(encoding="utf-8")
    assert "from tunesmith.compat.trl import" in text
    for private in ("._tr_loss", "._total_loss_scalar", "._globalstep_last_logged",
                    "._total_train_tokens", "._metrics[", "_get_output_dir",
                    "add_fused_lm_head", "catch_warnings", "filterwarnings"):
        assert private not in text, private
