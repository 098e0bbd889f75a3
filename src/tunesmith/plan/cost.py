"""Storage and money, and the seed's own formulas and table shown beside tunesmith's numbers.

The seed's formulas are rough on purpose: VRAM = P x 20 bytes x 1.5 safety (one number for
every method), time = 6·P·S·L / (flops·util) (no batch size: S counts samples here), storage
= P x 2 x C + D x 5. tunesmith prints them, and beside them its own estimate, which is the one
checked against measurement (docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from tunesmith.plan.catalog import GPU, ModelShape, model_catalog
from tunesmith.plan.compute import DEFAULT_UTILISATION, estimate_time
from tunesmith.plan.memory import GiB, TrainSetup, estimate_memory
from tunesmith.plan.methods import profile

# seed: "Storage (TB) = (P x 2 x C) + (D x 5)", checkpoints C = 10, data factor 5
SEED_CHECKPOINTS = 10
SEED_DATA_FACTOR = 5
# seed: "Real-World Estimation Table" (for 1M samples @ seqlen=2048, $3.67/hr per A100 80GB)
SEED_TABLE: tuple[dict[str, Any], ...] = (
    {"model": "7B", "shape": "llama-2-7b", "min_vram_gb": 140, "gpus": 2, "hours": 48,
     "cost_usd": 2300},
    {"model": "13B", "shape": "llama-2-13b", "min_vram_gb": 260, "gpus": 4, "hours": 72,
     "cost_usd": 6200},
    {"model": "70B", "shape": "llama-2-70b", "min_vram_gb": 1400, "gpus": 16, "hours": 240,
     "cost_usd": 58000},
)


def seed_vram_gb(params: float) -> float:
    """seed: VRAM (GB) = (P x 20) x safety 1.5, P in billions (fp16: 20 bytes/param)."""
    return params / 1e9 * 20 * 1.5


def seed_hours(params: float, samples: float, seq_len: int, tflops: float,
               util: float = DEFAULT_UTILISATION) -> float:
    """seed: (6P x S x L) / (GPU_flops x util), S read as the number of samples."""
    return 6 * params * samples * seq_len / (tflops * 1e12 * util) / 3600


@dataclass(frozen=True)
class Storage:
    checkpoint_gib: float
    checkpoints: int
    final_model_gib: float
    data_working_set_gib: float

    @property
    def total_gib(self) -> float:
        return (self.checkpoint_gib * self.checkpoints + self.final_model_gib
                + self.data_working_set_gib)

    def to_dict(self) -> dict[str, float]:
        return {"checkpoint_gib": round(self.checkpoint_gib, 3), "checkpoints": self.checkpoints,
                "final_model_gib": round(self.final_model_gib, 3),
                "data_working_set_gib": round(self.data_working_set_gib, 3),
                "total_gib": round(self.total_gib, 3)}


def estimate_storage(shape: ModelShape, setup: TrainSetup, trainable: int, checkpoints: int,
                     dataset_gib: float) -> Storage:
    """A checkpoint holds the trained weights and the optimizer states (to resume); a PEFT
    method's checkpoint holds only the adapter. The data working set is the seed's D x 5."""
    base_trains = profile(setup.method).kind in ("full", "freeze")
    weight_bytes = 2 if setup.precision != "fp32" else 4
    states = 8 if setup.optimizer == "adamw" else 2  # fp32 Adam moments; 8-bit ones
    per_ckpt = trainable * (weight_bytes if base_trains else 4) + trainable * states
    final = (shape.params if base_trains else trainable) * weight_bytes
    return Storage(per_ckpt / GiB, checkpoints, final / GiB, dataset_gib * SEED_DATA_FACTOR)


def cost_usd(hours: float, gpus: int, gpu: GPU) -> float:
    return hours * gpus * gpu.usd_per_hour


def seed_table_comparison(gpu: GPU, samples: float = 1e6, seq_len: int = 2048) -> list[dict[str,
                                                                                          Any]]:
    """The seed's 7B/13B/70B rows beside tunesmith's: full fine-tuning in mixed precision
    (fp32 weights, gradients and AdamW states, bf16 compute: the seed's 20 bytes/param setting),
    checkpointing, batch 1 per GPU, sharded with ZeRO-3 over the fewest GPUs that fit, at the
    seed's utilisation."""
    rows = []
    catalog = model_catalog()
    for row in SEED_TABLE:
        shape = catalog[row["shape"]]
        gpus = 1
        setup = TrainSetup(method="full", precision="mixed", batch_size=1, seq_len=seq_len,
                           gradient_checkpointing=True, optimizer="adamw", device="cuda")
        while True:
            trial = replace(setup, gpus=gpus, zero_stage=3 if gpus > 1 else 0)
            mem = estimate_memory(shape, trial)
            if mem.peak <= 0.95 * gpu.memory_gib or gpus >= 256:
                break
            gpus *= 2
        t = estimate_time(shape, trial, samples * seq_len, gpu.tflops_bf16)
        single = estimate_memory(shape, setup)
        rows.append({
            "model": row["model"], "shape": row["shape"], "params_b": round(shape.params / 1e9, 2),
            "seed_min_vram_gb": row["min_vram_gb"],
            "seed_formula_vram_gb": round(seed_vram_gb(shape.params), 1),
            "tunesmith_total_gib": round(single.peak, 1),
            "seed_gpus": row["gpus"], "tunesmith_gpus": gpus,
            "tunesmith_per_gpu_gib": round(mem.peak, 1),
            "seed_hours": row["hours"],
            "seed_formula_hours": round(seed_hours(shape.params, samples, seq_len,
                                                   gpu.tflops_bf16) / row["gpus"], 1),
            "tunesmith_hours": round(t.hours, 1),
            "seed_cost_usd": row["cost_usd"],
            "tunesmith_cost_usd": round(cost_usd(t.hours, gpus, gpu)),
        })
    return rows
