"""Does the GGUF file give back the merged model? Loaded through transformers (``gguf_file=``,
the reader tunesmith uses for GGUF bases), its tokenizer must encode as the model's own does and
its logits must match.

Two comparisons, because storage rounds: against the merged fp32 model (what the user gets:
F16 keeps ~11 significant bits per weight, Q8_0 8 bits per value with a scale per 32 values),
and against the merged model with every weight rounded exactly as written (the file's own
content). The second must agree to float32 noise; a larger gap is a writer bug (a wrong name,
a wrong permutation, a lost tensor), and the export fails.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tunesmith.export.gguf_writer import gguf_name, store
from tunesmith.export.merge import ExportError
from tunesmith.inference import build_prompts
from tunesmith.models.gguf import load_dequantised

# float32 noise between two identical computations on differently laid-out but equal weights
ROUNDED_TOLERANCE = 1e-4

SAMPLE_TEXTS = ["The broker listens on port 7420; TLS uses 7421. Naïve café — 3.14 × 2!"]


def rounded_like_file(model: Any, quant: str) -> Any:
    """A copy of ``model`` whose weights went through the file's storage and back."""
    import gguf

    rounded = copy.deepcopy(model)
    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, model.config.num_hidden_layers)
    with torch.no_grad():
        for hf_name, param in rounded.named_parameters():  # a tied head appears once
            new = gguf_name(name_map, hf_name)
            if new is None:
                continue
            data = param.detach().float().cpu().numpy()
            stored, qtype = store(new, data, quant)
            back = gguf.quants.dequantize(stored, qtype).reshape(data.shape)
            param.copy_(torch.from_numpy(np.ascontiguousarray(back, dtype=np.float32)))
    return rounded


def verification_texts(tokenizer: Any, system: str) -> list[str]:
    prompt = build_prompts(tokenizer, ["Which port does the broker listen on?"],
                           ["The broker listens on port 7420 by default."], system)[0]
    return [prompt, *SAMPLE_TEXTS]


@torch.no_grad()
def verify_gguf(model: Any, tokenizer: Any, path: Path, quant: str,
                texts: list[str]) -> dict[str, Any]:
    """Load ``path`` with transformers and compare its tokenizer and logits with ``model``'s;
    ExportError when the file does not reproduce the model it was written from."""
    loaded, loaded_tokenizer = load_dequantised(path)
    loaded.eval()
    model = model.eval()
    reference = rounded_like_file(model, quant).eval()
    diff_fp32 = diff_rounded = scale = 0.0
    same_top = positions = 0
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        theirs = loaded_tokenizer(text, add_special_tokens=False)["input_ids"]
        if ids != theirs:
            raise ExportError(f"{path}: its tokenizer encodes {text[:40]!r}... differently "
                              f"({theirs[:12]} against {ids[:12]})")
        batch = torch.tensor([ids])
        want = model(batch).logits.float()
        got = loaded(batch).logits.float()
        diff_fp32 = max(diff_fp32, float((got - want).abs().max()))
        same_top += int((got.argmax(-1) == want.argmax(-1)).sum())
        positions += len(ids)
        diff_rounded = max(diff_rounded, float((got - reference(batch).logits).abs().max()))
        scale = max(scale, float(want.abs().max()))
    if diff_rounded > ROUNDED_TOLERANCE:
        raise ExportError(f"{path}: loaded back, it differs from the weights written by "
                          f"{diff_rounded:.3g} in the logits (more than float32 noise, "
                          f"{ROUNDED_TOLERANCE}): the file is wrong")
    return {"loads_with": "transformers AutoModelForCausalLM.from_pretrained(gguf_file=...)",
            "texts": len(texts), "tokens": sum(len(tokenizer(t, add_special_tokens=False)
                                                   ["input_ids"]) for t in texts),
            "tokenizer_matches": True,
            "max_abs_logit_diff_vs_fp32": diff_fp32,
            "max_abs_logit_diff_vs_written_weights": diff_rounded,
            "max_abs_logit": scale,
            "top1_agreement_vs_fp32": same_top / max(positions, 1)}
