"""PEFT library methods on the encoder tasks: the wrapper follows the head (QUESTION_ANS,
SEQ_CLS), the seed's LLaMA target names fall back to PEFT's defaults for BERT, and the trained
adapter and head reload into a model that differs from the base."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tunesmith.config import RunConfig
from tunesmith.data.schema import QARecord, write_records

pytestmark = pytest.mark.slow

CONTEXT = "Harbor listens on port 5672 for client connections and on port 8080 for the console."


def _records() -> list[QARecord]:
    rows = [("Which port does Harbor use for clients?", "5672"),
            ("Which port serves the console?", "8080")]
    out = [QARecord(id=f"a{i}", question=q, contexts=[CONTEXT], answer=a,
                    answer_start=CONTEXT.index(a)) for i, (q, a) in enumerate(rows)]
    out.append(QARecord(id="u0", question="Who gave their name to Normandy?", contexts=[CONTEXT],
                        kind="unanswerable"))
    return out


@pytest.mark.parametrize(("method", "task"), [("lora", "extractive_qa"), ("ia3", "answerability")])
def test_peft_method_trains_an_encoder_task(tmp_path: Path, method: str, task: str) -> None:
    from rich.console import Console

    from tunesmith.inference.encoder import load_encoder, load_trained_encoder
    from tunesmith.methods.peft_methods import peft_task_type
    from tunesmith.train.encoder import train_encoders

    config = RunConfig.model_validate({
        "name": "enc", "output_dir": str(tmp_path / "runs"),
        "model": {"name": "all-MiniLM-L6-v2", "task": task},
        "data": {"sources": [{"path": str(tmp_path)}]},
        "method": {"name": method},
        "train": {"max_steps": 3, "batch_size": 3, "max_length": 48, "learning_rate": 5e-3},
        "guard": {"extractive": {"doc_stride": 16}},
    })
    for split in ("train", "val"):
        write_records(config.run_dir / "data" / f"{split}.jsonl", _records())
    train_encoders(config, config.run_dir, Console(quiet=True))

    model, tokenizer, info = load_trained_encoder(config.run_dir / "train" / task)
    assert info["task"] == task
    expected = "QUESTION_ANS" if task == "extractive_qa" else "SEQ_CLS"
    assert model.peft_config["default"].task_type == expected
    assert peft_task_type(model.get_base_model()) == expected
    targeted = {n.rsplit(".", 2)[-2] for n, _ in model.named_parameters()
                if "lora_A" in n or "ia3_l" in n}
    assert targeted and not targeted & {"q_proj", "v_proj"}
    # the adapter itself trained (LoRA's B starts at zero, IA3's vectors at one)
    adapter = {n: p for n, p in model.named_parameters() if "lora_B" in n or "ia3_l" in n}
    init = 0.0 if method == "lora" else 1.0
    assert any(not torch.allclose(p, torch.full_like(p, init)) for p in adapter.values())

    base, _ = load_encoder("all-MiniLM-L6-v2", task)
    batch = tokenizer(["Which port does Harbor use for clients?"], [CONTEXT], return_tensors="pt")
    with torch.no_grad():
        tuned_out, base_out = model(**batch), base(**batch)
    key = "start_logits" if task == "extractive_qa" else "logits"
    assert not torch.allclose(tuned_out[key], base_out[key], atol=1e-4)
