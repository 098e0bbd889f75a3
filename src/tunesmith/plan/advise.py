"""What fits: the smallest configuration on a GPU, a multi-GPU strategy, and the largest model
a card can train with full fine-tuning, LoRA and QLoRA (the seed's consumer-hardware question).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from tunesmith.plan.catalog import GPU, ModelShape, model_catalog
from tunesmith.plan.memory import TrainSetup, estimate_memory

HEADROOM = 0.95  # leave 5% of the card for the CUDA context's neighbours and fragmentation


@dataclass
class Option:
    label: str
    setup: TrainSetup
    peak_gib: float
    fits: bool
    changes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        s = self.setup
        return {"label": self.label, "peak_gib": round(self.peak_gib, 2), "fits": self.fits,
                "changes": self.changes, "gpus": s.gpus, "zero_stage": s.zero_stage,
                "offload_optimizer": s.offload_optimizer, "offload_params": s.offload_params,
                "batch_size": s.batch_size, "gradient_checkpointing": s.gradient_checkpointing,
                "optimizer": s.optimizer, "method": s.method}


def _option(label: str, shape: ModelShape, setup: TrainSetup, gpu: GPU,
            changes: list[str]) -> Option:
    peak = estimate_memory(shape, setup).peak
    return Option(label, setup, peak, peak <= HEADROOM * gpu.memory_gib, list(changes))


def smallest_fitting(shape: ModelShape, setup: TrainSetup, gpu: GPU,
                     max_gpus: int = 64) -> tuple[Option | None, list[Option]]:
    """Try cheaper changes before more hardware: checkpointing, batch 1 (accumulate
    instead), an 8-bit optimizer, then ZeRO over more GPUs, then CPU offload."""
    tried: list[Option] = []
    current, changes = setup, []
    ladder: list[tuple[str, dict[str, Any]]] = [
        ("as given", {}),
        ("gradient checkpointing", {"gradient_checkpointing": True}),
        ("batch 1 + gradient accumulation", {"batch_size": 1}),
        ("8-bit AdamW (bitsandbytes)", {"optimizer": "adamw_8bit"}),
    ]
    for label, change in ladder:
        if all(getattr(current, k) == v for k, v in change.items()) and change:
            continue
        current = replace(current, **change)
        if change:
            changes.append(label)
        opt = _option(label, shape, current, gpu, changes)
        tried.append(opt)
        if opt.fits:
            return opt, tried
    n = 2
    while n <= max_gpus:
        for stage in (2, 3):
            opt = _option(f"{n} GPUs, ZeRO-{stage}", shape,
                          replace(current, gpus=n, zero_stage=stage), gpu,
                          [*changes, f"{n} GPUs with ZeRO-{stage}"])
            tried.append(opt)
            if opt.fits:
                return opt, tried
        n *= 2
    offloads: list[tuple[str, dict[str, Any]]] = [
        ("ZeRO-3 + optimizer offload", {"offload_optimizer": True}),
        ("ZeRO-3 + optimizer and parameter offload",
         {"offload_optimizer": True, "offload_params": True})]
    for label, change in offloads:
        one = replace(current, gpus=1, zero_stage=3, **change)
        opt = _option(label, shape, one, gpu, [*changes, label])
        tried.append(opt)
        if opt.fits:
            return opt, tried
    return None, tried


STRATEGIES = (
    # (label, zero stage, optimizer offload, parameter offload, note); seed: "Data
    # Parallelism: Linear scaling (good for <=4 GPUs)", "ZeRO Stage 3: 8x VRAM reduction
    # (high comms cost)"
    ("DDP", 0, False, False, "a full replica per GPU; gradients all-reduced; scales ~linearly"),
    ("ZeRO-2", 2, False, False, "optimizer states and gradients sharded; same traffic as DDP"),
    ("ZeRO-3", 3, False, False, "weights sharded too; 1.5x DDP's traffic"),
    ("FSDP", 3, False, False, "PyTorch's full sharding: the memory of ZeRO-3"),
    ("ZeRO-3 + offload", 3, True, True, "states and weights in CPU memory; PCIe-bound"),
)


def multi_gpu_strategies(shape: ModelShape, setup: TrainSetup, gpu: GPU,
                         gpus: int) -> tuple[str | None, list[dict[str, Any]]]:
    """Per-GPU peak of each strategy on ``gpus`` cards; the first (cheapest in traffic) that
    fits is the recommendation."""
    rows, best = [], None
    for label, stage, off_opt, off_par, note in STRATEGIES:
        s = replace(setup, gpus=gpus, zero_stage=stage, offload_optimizer=off_opt,
                    offload_params=off_par)
        peak = estimate_memory(shape, s).peak
        fits = peak <= HEADROOM * gpu.memory_gib
        rows.append({"strategy": label, "per_gpu_peak_gib": round(peak, 2), "fits": fits,
                     "note": note})
        if fits and best is None:
            best = label
    return best, rows


def largest_models(gpu: GPU, seq_len: int = 2048, batch_size: int = 1) -> dict[str, Any]:
    """For full, LoRA and QLoRA: the largest catalog model whose estimated peak fits the card
    (bf16, activation checkpointing, chunked cross-entropy; full fine-tuning with the
    memory-optimised recipe: paged 8-bit AdamW applied in backward)."""
    setups = {
        "full": TrainSetup(method="full", optimizer="paged_adamw_8bit",
                           optimizer_in_backward=True),
        "lora": TrainSetup(method="lora"),
        "qlora": TrainSetup(method="qlora"),
    }
    models = sorted(model_catalog().values(), key=lambda m: m.params)
    out: dict[str, Any] = {}
    for name, base in setups.items():
        setup = replace(base, seq_len=seq_len, batch_size=batch_size,
                        gradient_checkpointing=True, loss="chunked", precision="bf16")
        fitting = [(m, estimate_memory(m, setup).peak) for m in models]
        ok = [(m, p) for m, p in fitting if p <= HEADROOM * gpu.memory_gib]
        best = max(ok, key=lambda mp: mp[0].params) if ok else None
        out[name] = {"largest": best[0].name if best else None,
                     "params_b": round(best[0].params / 1e9, 2) if best else None,
                     "peak_gib": round(best[1], 2) if best else None,
                     "all": {m.name: round(p, 1) for m, p in fitting}}
    return out
