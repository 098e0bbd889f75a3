"""Launch configurations for a multi-GPU strategy: an ``accelerate`` config file and, for
ZeRO, the DeepSpeed JSON it points to (``accelerate launch --config_file accelerate.yaml``).

Values the HF Trainer fills in itself stay ``"auto"`` in the DeepSpeed file (micro batch,
accumulation, precision), so one file serves every batch size the plan picks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tunesmith.plan.memory import TrainSetup
from tunesmith.utils.io import write_json_atomic, write_text_atomic


def deepspeed_config(setup: TrainSetup, max_grad_norm: float = 1.0) -> dict[str, Any]:
    zero: dict[str, Any] = {"stage": setup.zero_stage, "overlap_comm": True,
                            "contiguous_gradients": True, "reduce_bucket_size": "auto"}
    if setup.zero_stage == 3:
        zero.update({"stage3_prefetch_bucket_size": "auto",
                     "stage3_param_persistence_threshold": "auto",
                     "stage3_gather_16bit_weights_on_model_save": True})
    if setup.offload_optimizer:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
    if setup.offload_params:
        zero["offload_param"] = {"device": "cpu", "pin_memory": True}
    return {
        "bf16": {"enabled": "auto"},
        "fp16": {"enabled": "auto"},
        "zero_optimization": zero,
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": max_grad_norm,  # seed: clip norms global_norm=1.0
        "train_batch_size": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "wall_clock_breakdown": False,
    }


def accelerate_config(strategy: str, setup: TrainSetup, deepspeed_file: str | None) -> dict[str,
                                                                                          Any]:
    mixed = "bf16" if setup.precision in ("bf16", "mixed") else (
        "fp16" if setup.precision == "fp16" else "no")
    base: dict[str, Any] = {"compute_environment": "LOCAL_MACHINE", "machine_rank": 0,
                            "num_machines": 1, "num_processes": setup.gpus,
                            "mixed_precision": mixed, "main_training_function": "main",
                            "rdzv_backend": "static", "same_network": True, "use_cpu": False}
    if strategy.startswith("ZeRO"):
        base["distributed_type"] = "DEEPSPEED"
        base["deepspeed_config"] = {"deepspeed_config_file": deepspeed_file,
                                    "zero3_init_flag": setup.zero_stage == 3}
    elif strategy == "FSDP":
        base["distributed_type"] = "FSDP"
        base["fsdp_config"] = {
            "fsdp_version": 2,
            "fsdp_auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
            "fsdp_reshard_after_forward": True,
            "fsdp_state_dict_type": "SHARDED_STATE_DICT",
            "fsdp_cpu_ram_efficient_loading": True,
            "fsdp_offload_params": setup.offload_params,
            "fsdp_activation_checkpointing": setup.gradient_checkpointing,
        }
    else:
        base["distributed_type"] = "MULTI_GPU" if setup.gpus > 1 else "NO"
    return base


def write_launch_files(out_dir: Path, strategy: str, setup: TrainSetup) -> list[Path]:
    """Write ``accelerate.yaml`` (and ``deepspeed.json`` for ZeRO) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    ds_file = None
    if strategy.startswith("ZeRO"):
        ds_path = out_dir / "deepspeed.json"
        write_json_atomic(ds_path, deepspeed_config(setup))
        written.append(ds_path)
        ds_file = str(ds_path.resolve())
    acc_path = out_dir / "accelerate.yaml"
    write_text_atomic(acc_path, yaml.safe_dump(accelerate_config(strategy, setup, ds_file),
                                               sort_keys=False))
    written.append(acc_path)
    return written
