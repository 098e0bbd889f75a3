"""The LM head at supervised positions only: the same loss and gradients as full logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from peft import LoraConfig, PrefixTuningConfig, get_peft_model
from transformers import AutoModelForCausalLM

from tunesmith.train.losses import accepts_logits_to_keep, supervised_loss


def _batch(vocab: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    ids = torch.randint(5, vocab, (3, 12))
    mask = torch.ones_like(ids)
    mask[2, 9:] = 0  # right padding on one row
    labels = torch.full_like(ids, -100)
    labels[0, 8:11] = ids[0, 8:11]  # each row supervises its own span (a completion)
    labels[1, 5:7] = ids[1, 5:7]
    labels[2, 7:9] = ids[2, 7:9]
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _full_logits_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)),
                           batch["labels"][:, 1:].reshape(-1), ignore_index=-100)


def test_loss_and_gradients_match_the_full_logits(tiny_lm: str) -> None:
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_lm),
                           LoraConfig(r=4, target_modules=["q_proj", "v_proj"],
                                      init_lora_weights=False))
    assert accepts_logits_to_keep(model)
    batch = _batch(model.config.vocab_size)
    reference = _full_logits_loss(model, batch)
    reference.backward()
    expected = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    model.zero_grad()
    result = supervised_loss(model, batch)
    result.loss.backward()
    assert torch.allclose(result.loss, reference, atol=1e-6)
    assert int(result.num_valid) == 7
    for name, param in model.named_parameters():
        if param.requires_grad:
            assert torch.allclose(param.grad, expected[name], atol=1e-6), name
    # a given token count (gradient accumulation) divides the summed loss instead
    summed = supervised_loss(model, batch, num_items_in_batch=14).loss
    assert torch.allclose(summed * 2, reference, atol=1e-6)


def test_prompt_learning_methods_keep_the_full_path(tiny_lm: str) -> None:
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_lm),
                           PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=4))
    assert not accepts_logits_to_keep(model)
