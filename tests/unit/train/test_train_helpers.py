from __future__ import annotations

import pytest
import torch

from tunesmith.config import TrainConfig
from tunesmith.train.hardware import choose_hardware


def test_cpu_defaults_to_fp32_without_checkpointing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    choice = choose_hardware(TrainConfig())
    assert (choice.device, choice.precision, choice.gradient_checkpointing) == ("cpu", "fp32",
                                                                                False)
    assert choice.torch_dtype is torch.float32 and len(choice.reasons) == 2


def test_gpu_prefers_bf16_then_fp16(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert choose_hardware(TrainConfig()).precision == "bf16"
    assert choose_hardware(TrainConfig()).gradient_checkpointing is True
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert choose_hardware(TrainConfig()).precision == "fp16"


def test_explicit_settings_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    choice = choose_hardware(TrainConfig(precision="bf16", gradient_checkpointing=True))
    assert choice.precision == "bf16" and choice.gradient_checkpointing
    assert any("set" in reason for reason in choice.reasons)


def test_resume_skips_a_half_written_checkpoint(tmp_path) -> None:
    from tunesmith.train.checkpoints import last_complete_checkpoint

    # 15: killed before trainer_state.json; 20: killed while the Trainer wrote it (in place)
    for step, state in ((5, '{"global_step": 5}'), (10, '{"global_step": 10}'), (15, None),
                        (20, '{"global_step": 2')):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "model.safetensors").write_text("x")
        if state is not None:
            (folder / "trainer_state.json").write_text(state)
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-10")
    assert not (tmp_path / "checkpoint-15").exists()
    assert not (tmp_path / "checkpoint-20").exists()
    assert last_complete_checkpoint(tmp_path / "missing") is None
