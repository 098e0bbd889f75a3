"""``tunesmith plan``: the run's hyperparameters and memory estimate, each value with its rule,
written to ``runs/<name>/plan/plan.json``; and :func:`resolve_plan`, which returns a new config
whose planned ``auto`` train values are the plan's (the user's config object is not changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesmith.config import RunConfig
from tunesmith.config.auto import is_auto, or_default
from tunesmith.errors import TunesmithError
from tunesmith.models.builtin import is_gguf_name
from tunesmith.plan.catalog import ModelShape, get_gpu, resolve_model, tiny_shape
from tunesmith.plan.hparams import (
    Decision,
    Hardware,
    default_learning_rate,
    plan_hyperparameters,
)
from tunesmith.plan.memory import GiB, MemoryEstimate, TrainSetup, estimate_memory
from tunesmith.plan.methods import profile
from tunesmith.utils.io import read_json, write_json_atomic
from tunesmith.utils.layout import RunLayout

# the train keys the plan decides (and shows); of these it fills config.train.PLANNED_KEYS
DECIDED_KEYS = ("epochs", "learning_rate", "batch_size", "gradient_accumulation_steps",
             "weight_decay", "max_grad_norm", "precision", "gradient_checkpointing",
             "label_smoothing", "early_stopping_patience", "early_stopping_min_delta")


def detect_hardware(config: RunConfig) -> Hardware:
    """``plan.hardware``: this machine, or a catalog GPU the user plans to rent."""
    if config.plan.hardware != "auto":
        catalog = Path(config.plan.gpu_catalog) if config.plan.gpu_catalog else None
        gpu = get_gpu(config.plan.hardware, catalog)
        return Hardware("cuda", gpu.memory_gib, gpu.bf16, gpu.label)
    import torch

    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return Hardware("cuda", props.total_memory / GiB, torch.cuda.is_bf16_supported(),
                        props.name)
    import psutil

    return Hardware("cpu", psutil.virtual_memory().available / GiB, False,
                    "CPU (available RAM)")


def shape_for(config: RunConfig) -> ModelShape:
    """The base model's shape: the built model's config.json when it exists."""
    if config.model.is_tiny:
        built = _built_model(config)
        return resolve_model(built) if built else tiny_shape(config.model.tiny)
    if is_gguf_name(config.model.name):  # the converted folder (converted now if need be)
        from tunesmith.models.gguf import resolve_gguf_model  # deferred: imports transformers

        built = _built_model(config) or str(resolve_gguf_model(config.model))
        return resolve_model(built)
    return resolve_model(config.model.name)


def _built_model(config: RunConfig) -> str | None:
    try:
        base = RunLayout.of(config).base_model()
    except TunesmithError:  # the model stage has not run
        return None
    return base if (Path(base) / "config.json").exists() else None


def _options(config: RunConfig) -> Any:
    return config.method.options


def setup_for(config: RunConfig, hardware: Hardware, batch_size: int | None = None) -> TrainSetup:
    """The estimator's view of the configured training on ``hardware``."""
    t, o = config.train, _options(config)
    precision = t.precision if not is_auto(t.precision) else (
        "fp32" if hardware.device == "cpu" else ("bf16" if hardware.bf16 else "fp16"))
    checkpointing = (t.gradient_checkpointing if not is_auto(t.gradient_checkpointing)
                     else hardware.device == "cuda")
    targets = getattr(o, "target_modules", None) or ["q_proj", "v_proj"]
    optimizer = {"paged_adamw": "adamw"}.get(t.optimizer, t.optimizer)
    batch = batch_size or int(or_default(t, "batch_size"))  # 'auto': the default, as before
    return TrainSetup(
        method=config.method.name, precision=precision, batch_size=batch,
        seq_len=t.max_length, gradient_checkpointing=bool(checkpointing),
        optimizer=optimizer, lora_rank=int(getattr(o, "r", 8) or 8),
        lora_targets=(targets,) if isinstance(targets, str) else tuple(targets),
        lora_dropout=float(getattr(o, "dropout", 0.0) or 0.0),
        trainable_layers=int(getattr(o, "layers", 2) or 2),
        virtual_tokens=int(getattr(o, "num_virtual_tokens", 20) or 20),
        offload_optimizer=t.offload_optimizer and hardware.device == "cuda",
        gpus=config.plan.gpus, device=hardware.device,
        loss="full")  # tunesmith's trainer: transformers' loss upcasts the logits


def _user_and_defaults(config: RunConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Values written in the config (they win) and defaults nobody set; 'auto' is in neither."""
    t = config.train
    user: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for key in DECIDED_KEYS:
        value = getattr(t, key)
        if is_auto(value):
            continue
        (user if key in t.model_fields_set else defaults)[key] = value
    options = _options(config)
    if "dropout" in type(options).model_fields:
        target = user if "dropout" in options.model_fields_set else defaults
        target["dropout"] = options.dropout
    return user, defaults


def count_train_examples(run_dir: Path) -> int:
    path = RunLayout(run_dir).train_jsonl
    if not path.exists():
        raise TunesmithError(f"{path}: no training split yet; run `tunesmith data build` first")
    with path.open(encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


@dataclass(frozen=True)
class Plan:
    """The plan: every decision with its rule, and the memory estimate at the chosen batch."""

    n_train: int
    hardware: Hardware
    model: ModelShape
    method: str
    decisions: tuple[Decision, ...]
    memory: MemoryEstimate

    def decision(self, name: str) -> Decision:
        return next(d for d in self.decisions if d.name == name)

    def chosen(self) -> dict[str, Any]:
        """Each hyperparameter's value (the user's, the default or the rule's)."""
        return {d.name: d.value for d in self.decisions}

    def to_dict(self) -> dict[str, Any]:
        """``plan/plan.json`` and ``tunesmith plan --json``."""
        hw = self.hardware
        return {
            "n_train": self.n_train,
            "hardware": {"device": hw.device, "label": hw.label,
                         "memory_gib": round(hw.memory_gib, 2), "bf16": hw.bf16},
            "model": self.model.to_dict(),
            "method": self.method,
            "decisions": [d.to_dict() for d in self.decisions],
            "memory": self.memory.to_dict(),
        }


def build_plan(config: RunConfig, n_train: int, hardware: Hardware) -> Plan:
    """The plan. It writes nothing; it reads one file, the learning-rate finder's result
    (``plan/lr_find.json``), when ``tunesmith lr-find`` has run."""
    shape = shape_for(config)
    setup = setup_for(config, hardware)
    user, defaults = _user_and_defaults(config)
    lr_found = _lr_found(config.run_dir)
    decisions = plan_hyperparameters(
        n_train=n_train, shape=shape, setup=setup, hardware=hardware, user=user,
        defaults=defaults, target_effective_batch=config.plan.target_effective_batch,
        max_batch=config.plan.max_batch_size,
        method_default_lr=default_learning_rate(profile(config.method.name).kind),
        lr_found=lr_found)
    chosen = {d.name: d.value for d in decisions}
    final = setup_for(config, hardware, batch_size=int(chosen["batch_size"]))
    return Plan(n_train, hardware, shape, config.method.name, tuple(decisions),
                estimate_memory(shape, final))


def _lr_found(run_dir: Path) -> float | None:
    path = RunLayout(run_dir).lr_find_json
    if not path.exists():
        return None
    value = read_json(path).get("suggested_lr")
    return float(value) if value else None


def plan_for_config(config: RunConfig) -> Plan:
    """Build the plan for a run whose data exists and write ``plan/plan.json``."""
    plan = build_plan(config, count_train_examples(config.run_dir), detect_hardware(config))
    write_json_atomic(RunLayout.of(config).plan_json, plan.to_dict())
    return plan


def planned_values(config: RunConfig, plan: Plan) -> list[Decision]:
    """The plan's decisions that fill a train key the config left at 'auto'."""
    auto = config.train.planned_autos
    return [d for d in plan.decisions if d.source == "plan" and d.applied_to is not None
            and d.applied_to.removeprefix("train.") in auto]


def resolve_plan(config: RunConfig, plan: Plan) -> RunConfig:
    """A new config whose planned 'auto' train values are the plan's; ``config`` itself keeps
    its 'auto' (the values the user set stay). Precision, gradient checkpointing and shared
    context stay 'auto' here: the trainer decides them on the machine that trains."""
    changes = {str(d.applied_to).removeprefix("train."): d.value
               for d in planned_values(config, plan)}
    # validated like the user's values (an int epoch count becomes the field's float)
    train = type(config.train).model_validate({**config.train.model_dump(), **changes})
    resolved = config.model_copy(update={"train": train})
    resolved._base_dir = config.base_dir
    return resolved
