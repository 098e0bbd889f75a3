"""The training workflow drives any registered method: the method prepares, its extra loss and
step hooks run, registered extra losses run, the base eval loss is measured at step 0, and what
is saved loads back through the method for evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from tunesmith.config import parse_config
from tunesmith.data.schema import QARecord, write_records
from tunesmith.methods import METHODS
from tunesmith.methods.saved import METHOD_FILE, load_tuned, saved_method
from tunesmith.models.loading import load_causal_lm
from tunesmith.train.optim import choose_optimizer, zero_offload_config


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, facts: list[str]) -> Path:
    folder = tmp_path_factory.mktemp("data")
    records = [
        QARecord(id=f"r{i}", question=q, contexts=[c], answer=a,
                 answer_start=c.index(a) if a else None,
                 kind="answerable" if a else "unanswerable")
        for i, (q, c, a) in enumerate([
            ("Where is the Eiffel Tower?", facts[0], "Paris"),
            ("When was it completed?", facts[0], "1889"),
            ("What does photosynthesis store?", facts[1], "glucose"),
            ("How many countries?", facts[2], "nine"),
            ("Who painted it?", facts[0], None),
        ])
    ]
    write_records(folder / "train.jsonl", records[:4])
    write_records(folder / "val.jsonl", records[3:])
    return folder


def _config(method: str, tmp_path: Path, extra: str = "") -> Any:
    text = (f"name: t\ndata:\n  sources:\n    - {{path: docs/}}\nmethod:\n  name: {method}\n"
            f"{extra}train:\n  max_steps: 2\n  batch_size: 2\n  max_length: 512\n"
            f"  logging_steps: 1\n  learning_rate: 1.0e-2\n")
    return parse_config(text, tmp_path / "t.yaml")


@pytest.mark.slow
def test_adalora_hooks_extra_losses_and_reload(tiny_base: str, data_dir: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from tunesmith.train.sft import train_sft

    calls: list[int] = []
    original_hooks = METHODS.get("adalora").step_hooks

    def counting_hooks(self: Any, model: Any) -> list[Any]:
        hooks = original_hooks(self, model)
        return [*hooks, calls.append]

    seen: list[float] = []

    def extra(model: Any, inputs: dict[str, Any], outputs: Any) -> torch.Tensor:
        value = outputs.logits.float().pow(2).mean() * 0.0 + 0.5
        seen.append(float(value))
        return value

    monkeypatch.setattr(METHODS.get("adalora"), "step_hooks", counting_hooks)
    config = _config("adalora", tmp_path, "  init_r: 4\n  target_r: 2\n")
    result = train_sft(config, tiny_base, data_dir, tmp_path / "train", extra_losses=[extra])
    assert calls == [0, 1]  # after each of the 2 optimizer steps (global step before increment)
    assert seen, "the registered extra loss never ran"
    m = result.metrics
    assert 0 < m["trainable_params"] < m["total_params"]
    assert m["base_eval_loss"] > 0 and m["eval_loss"] > 0
    assert m["train_tokens"] > 0 and m["train_tokens_per_second"] > 0
    assert saved_method(result.adapter_dir)[0] == "adalora"
    assert (result.adapter_dir / "adapter_config.json").is_file()  # PEFT's own format
    model = load_tuned(lambda **k: load_causal_lm(tiny_base, **k), result.adapter_dir)
    assert type(model).__name__.startswith("Peft")


@pytest.mark.slow
def test_native_method_trains_saves_and_loads(tiny_base: str, data_dir: Path,
                                              tmp_path: Path) -> None:
    from tunesmith.train.sft import train_sft

    assert "bitfit" in METHODS, "the native methods (methods/native/) are not registered"
    result = train_sft(_config("bitfit", tmp_path), tiny_base, data_dir, tmp_path / "train")
    assert (result.adapter_dir / METHOD_FILE).is_file()
    assert result.metrics["trainable_percent"] < 5
    assert result.metrics["base_eval_loss"] != result.metrics["eval_loss"]
    model = load_tuned(lambda **k: load_causal_lm(tiny_base, **k), result.adapter_dir)
    assert sum(p.numel() for p in model.parameters()) >= result.metrics["total_params"] - 1


def test_eight_bit_optimizer_and_offload_choices() -> None:
    from tunesmith.config import TrainConfig

    assert choose_optimizer(TrainConfig(), "cpu").kwargs == {"optim": "adamw_torch"}
    eight = choose_optimizer(TrainConfig(optimizer="paged_adamw_8bit"), "cpu")
    assert eight.kwargs["optim"] == "paged_adamw_8bit"
    assert any("unpaged" in r for r in eight.reasons)
    cpu = choose_optimizer(TrainConfig(offload_optimizer=True), "cpu")
    assert "deepspeed" not in cpu.kwargs and any("already" in r for r in cpu.reasons)
    gpu = choose_optimizer(TrainConfig(offload_optimizer=True), "cuda")
    assert gpu.kwargs["deepspeed"] == zero_offload_config()
    assert gpu.kwargs["deepspeed"]["zero_optimization"]["offload_optimizer"]["device"] == "cpu"
    from tunesmith.errors import TunesmithError

    with pytest.raises(TunesmithError, match="cannot be combined"):
        choose_optimizer(TrainConfig(offload_optimizer=True, optimizer="adamw_8bit"), "cuda")


@pytest.mark.slow
def test_eight_bit_optimizer_trains_on_cpu(tiny_base: str, data_dir: Path,
                                           tmp_path: Path) -> None:
    """bitsandbytes' 8-bit AdamW runs on CPU here: the switch really changes the optimizer."""
    from tunesmith.train.sft import train_sft

    config = _config("lora", tmp_path)
    config.train.optimizer = "adamw_8bit"
    result = train_sft(config, tiny_base, data_dir, tmp_path / "train")
    assert result.metrics["eval_loss"] > 0
    assert any("adamw_8bit" in r for r in result.reasons)
    checkpoint = sorted((tmp_path / "train" / "checkpoints").glob("checkpoint-*"))[-1]
    state = torch.load(checkpoint / "optimizer.pt", weights_only=False)["state"]
    # bitsandbytes' optimizers save their (quantised) state under this key; torch's AdamW does
    # not. (Tensors under 4096 values keep 32-bit moments: bitsandbytes' min_8bit_size.)
    assert state and all("__bnb_optimizer_quant_state__" in s for s in state.values())
