"""Benchmark (GPU only): QLoRA (4-bit nf4 base + LoRA) against LoRA on a 16-bit base.

The model has the shapes of Qwen2.5-0.5B or Qwen2.5-1.5B with random weights: memory and speed
do not depend on the weight values, and nothing is downloaded. Both runs use tunesmith's own
methods (``METHODS["lora"]``, ``METHODS["qlora"]``: what ``tunesmith train`` does), the same
LoRA settings (r 16, alpha 32, all linear layers), batch, sequence length, optimizer (AdamW)
and number of steps, in one process, one after the other; between them the CUDA allocator's
peak is reset. Reported per run: peak allocated GPU memory (``torch.cuda.max_memory_allocated``)
and training tokens/s over the timed steps (after warm-up steps), and the ratios QLoRA/LoRA.

    python bench/bench_qlora_gpu.py [--shape qwen2.5-0.5b|qwen2.5-1.5b] [--steps 20]
        [--batch 4] [--seq 512] [--out bench/results/qlora_gpu.json]

Needs a CUDA GPU (bitsandbytes' 4-bit kernels; bf16 where the card has it). Results go to
docs/benchmarks.md with the card's name, by hand, from the printed table.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import torch

SHAPES: dict[str, dict[str, Any]] = {
    # from the models' published config.json files
    "qwen2.5-0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                         num_attention_heads=14, num_key_value_heads=2, vocab_size=151936,
                         tie_word_embeddings=True),
    "qwen2.5-1.5b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                         num_attention_heads=12, num_key_value_heads=2, vocab_size=151936,
                         tie_word_embeddings=True),
}
LORA = {"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"}


def build_random_model(shape: str, folder: Path, dtype: torch.dtype) -> None:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(max_position_embeddings=4096, **SHAPES[shape])
    torch.manual_seed(0)
    model: Any = Qwen2ForCausalLM(config)
    model = model.to(dtype)
    model.save_pretrained(folder)
    del model
    gc.collect()


def run(method_name: str, folder: Path, dtype: torch.dtype, steps: int, warmup: int,
        batch: int, seq: int) -> dict[str, Any]:
    from transformers import AutoModelForCausalLM

    from tunesmith.methods import METHODS
    from tunesmith.train.sft import count_parameters

    method = METHODS.get(method_name)()
    options = method.Options.model_validate(LORA)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    kwargs = method.load_kwargs(options)
    base = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, device_map={"": 0},
                                                **kwargs)
    weights_mb = torch.cuda.memory_allocated() / 2**20
    model = method.prepare(base, options)
    model.train()
    trainable, total = count_parameters(model)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    generator = torch.Generator(device="cuda").manual_seed(0)
    vocab = int(base.config.vocab_size)
    tokens = 0
    start = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            torch.cuda.synchronize()
            start = time.perf_counter()
        ids = torch.randint(0, vocab, (batch, seq), device="cuda", generator=generator)
        with torch.autocast("cuda", dtype=dtype):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step >= warmup:
            tokens += batch * seq
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    result = {"method": method_name, "peak_memory_mb": torch.cuda.max_memory_allocated() / 2**20,
              "weights_mb": weights_mb, "tokens_per_s": tokens / seconds,
              "trainable_params": trainable, "total_params": total, "final_loss": float(loss)}
    del model, base, optimizer
    gc.collect()
    torch.cuda.empty_cache()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="qwen2.5-0.5b")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seq", type=int, default=512)
    parser.add_argument("--out", type=Path, default=Path("bench/results/qlora_gpu.json"))
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("bench_qlora_gpu.py needs a CUDA GPU (bitsandbytes 4-bit kernels)")
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build_random_model(args.shape, folder, dtype)
        rows = [run(name, folder, dtype, args.steps, args.warmup, args.batch, args.seq)
                for name in ("lora", "qlora")]
    lora, qlora = rows
    import bitsandbytes
    import peft
    import transformers

    report = {
        "benchmark": "qlora_vs_lora_gpu", "date": date.today().isoformat(),
        "gpu": torch.cuda.get_device_name(0), "shape": args.shape, "dtype": str(dtype),
        "batch": args.batch, "seq": args.seq, "steps": args.steps, "lora": LORA,
        "machine": platform.platform(),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "peft": peft.__version__, "bitsandbytes": bitsandbytes.__version__},
        "rows": rows,
        "ratio_peak_memory_qlora_over_lora": qlora["peak_memory_mb"] / lora["peak_memory_mb"],
        "ratio_tokens_per_s_qlora_over_lora": qlora["tokens_per_s"] / lora["tokens_per_s"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"{report['gpu']}, {args.shape} shapes (random weights), {dtype}, batch {args.batch}"
          f" x {args.seq} tokens, {args.steps} timed steps")
    print("| run | weights (MiB) | peak memory (MiB) | tokens/s | trainable params |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['method']} | {row['weights_mb']:,.0f} | {row['peak_memory_mb']:,.0f} | "
              f"{row['tokens_per_s']:,.0f} | {row['trainable_params']:,} |")
    print(f"QLoRA/LoRA: peak memory x{report['ratio_peak_memory_qlora_over_lora']:.2f}, "
          f"tokens/s x{report['ratio_tokens_per_s_qlora_over_lora']:.2f}")


if __name__ == "__main__":
    main()
