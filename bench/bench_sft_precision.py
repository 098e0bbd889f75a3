"""Benchmark: LoRA SFT throughput by precision and gradient checkpointing, on this machine.

Checks the rule in ``tunesmith.train.hardware`` (fp32 without checkpointing on CPU) against a
measurement. Every configuration trains the same tiny LLaMA (random weights: speed does not
depend on weight values) with the same LoRA adapter on the same batches, in this process; the
result is tokens/s and the ratio to the first configuration.

    python bench/bench_sft_precision.py [--steps 8] [--hidden 256] [--layers 4]
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import time
from datetime import date
from importlib import metadata

import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

CONFIGS = [
    ("fp32", False),
    ("fp32", True),
    ("bf16", False),
    ("bf16", True),
]


def run(precision: str, checkpointing: bool, args: argparse.Namespace) -> float:
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=4000, hidden_size=args.hidden, num_hidden_layers=args.layers,
                         num_attention_heads=4, num_key_value_heads=4,
                         intermediate_size=args.hidden * 8 // 3, max_position_embeddings=1024)
    model = LlamaForCausalLM(config)
    if checkpointing:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear"))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    batch = torch.randint(0, 4000, (args.batch, args.seq))
    autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16"
                else contextlib.nullcontext())
    model.train()
    for step in range(args.steps + 1):
        if step == 1:  # the first step warms allocators up and is not timed
            start = time.perf_counter()
        with autocast:
            loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    seconds = time.perf_counter() - start
    return args.steps * args.batch * args.seq / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=256)
    args = parser.parse_args()
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("torch", "transformers", "peft"))
    print(f"date: {date.today()}  machine: {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads  versions: {versions}")
    print(f"model: LLaMA hidden {args.hidden}, {args.layers} layers; LoRA r=16 all-linear; "
          f"batch {args.batch} x {args.seq} tokens; {args.steps} timed steps\n")
    print("| precision | gradient checkpointing | tokens/s | ratio to fp32, no checkpointing |")
    print("| --- | --- | --- | --- |")
    baseline = None
    for precision, checkpointing in CONFIGS:
        tps = run(precision, checkpointing, args)
        baseline = baseline or tps
        print(f"| {precision} | {'on' if checkpointing else 'off'} | {tps:,.0f} | "
              f"{tps / baseline:.2f} |")


if __name__ == "__main__":
    main()
