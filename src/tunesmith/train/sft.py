"""Supervised fine-tuning with any registered method: the method shapes the model, TRL trains it.

Read top to bottom: format the records, choose precision and optimizer from the hardware, load
the base the way the method asks (4-bit for QLoRA), let the method prepare it (a ``PeftModel``
for PEFT methods, a module with only the intended parameters trainable for native ones), score
the base model's eval loss at step 0, train with the method's extra loss and step hooks and an
eval loss each epoch, checkpoints along the way (resuming from the last one), then save through
the method: PEFT adapters load with ``PeftModel.from_pretrained(base, path)``.

No line here names a method: what differs between methods is asked of the method.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from torch import nn
from transformers import (
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
    set_seed,
)
from transformers.trainer_callback import PrinterCallback
from trl import SFTConfig
from trl import SFTTrainer as TrlSFTTrainer

from tunesmith import __version__
from tunesmith.compat.transformers import checkpointing_kwargs
from tunesmith.compat.trl import (
    add_scoring_head,
    add_train_tokens,
    checkpoint_folder,
    label_smoothing_deprecation_silenced,
    mean_loss,
    metric_lists,
    restore_running_sums,
    running_sums,
)
from tunesmith.config import RunConfig
from tunesmith.config.auto import resolved
from tunesmith.data.schema import QARecord, read_records
from tunesmith.errors import TunesmithError
from tunesmith.methods import METHODS, TuningMethod
from tunesmith.methods.saved import METHOD_FILE
from tunesmith.models.loading import load_causal_lm, load_tokenizer
from tunesmith.train.callbacks import (
    MetricsFileCallback,
    RichProgressCallback,
    SaveAfterEpochEvaluation,
    StepHooksCallback,
)
from tunesmith.train.checkpoints import prepare_checkpoints
from tunesmith.train.hardware import (
    HardwareChoice,
    choose_hardware,
    evaluation_plan,
    shared_training_kwargs,
    steps_per_epoch,
)
from tunesmith.train.losses import (
    ExtraLoss,
    accepts_logits_to_keep,
    needs_outputs,
    supervised_loss,
)
from tunesmith.train.optim import choose_optimizer
from tunesmith.train.packing import (
    is_shared_batch,
)
from tunesmith.train.training_data import plain_data, shared_context_applies, shared_data
from tunesmith.utils.dist import barrier, world_size
from tunesmith.utils.hashing import sha256_json
from tunesmith.utils.io import DataFileError, read_json, write_json_atomic

COUNTERS_FILE = "tunesmith_counters-{rank}.json"  # in each checkpoint: SFTTrainer.counters()

@dataclass
class TrainResult:
    adapter_dir: Path
    metrics: dict[str, Any]
    hardware: HardwareChoice
    resumed_from: str | None
    reasons: list[str] = field(default_factory=list)


class SFTTrainer(TrlSFTTrainer):
    """TRL's SFTTrainer plus the method's extra loss and any registered extra losses.

    ``extra_losses`` is the hook for other components: each callable gets the model, the batch
    and the model's outputs and returns a scalar tensor added to the loss (training only).

    Label smoothing (``args.label_smoothing_factor``) is TRL's own: transformers'
    ``LabelSmoother`` on the full logits. It smooths the training loss only; the validation
    loss (``eval_loss``, early stopping, the base model's score) stays the plain cross-entropy,
    so it compares across runs with and without smoothing.
    """

    def __init__(self, *args: Any, method: TuningMethod,
                 extra_losses: list[ExtraLoss] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.method = method
        self.extra_losses = list(extra_losses or [])
        self.supervised_head: bool | None = None  # decided at the first batch
        self.computed_tokens = 0  # tokens the shared-context batches ran (records hold more)
        self._resumed_counters: dict[str, Any] | None = None
        self.add_callback(_RestoreCountersCallback(self))
        self.add_callback(SaveAfterEpochEvaluation())

    # -- resuming after a kill -----------------------------------------------------------------
    # The Trainer restores weights, optimizer, scheduler, RNG and data order from a checkpoint,
    # but keeps some running sums in memory only: the loss summed since the start (its
    # train_loss divides that sum by the steps *of this train() call*: a resumed run reported
    # the mean of its last steps, and 0.0 when it resumed from the final checkpoint), the loss
    # not yet logged, TRL's token count and ours. Each checkpoint holds them too, and a resumed
    # run takes them back before its first step: the same sums, added in the same order, as in
    # a run that was never interrupted.

    def counters(self) -> dict[str, Any]:
        """The in-memory running sums a checkpoint must hold for an exact resume."""
        return {"global_step": self.state.global_step, **running_sums(self),
                "computed_tokens": int(self.computed_tokens)}

    def train(self, resume_from_checkpoint: str | bool | None = None,  # type: ignore[override]
              **kwargs: Any) -> Any:
        self._resumed_counters = None
        if isinstance(resume_from_checkpoint, str):
            path = Path(resume_from_checkpoint) / COUNTERS_FILE.format(
                rank=self.args.process_index)
            self._resumed_counters = read_json(path) if path.is_file() else None
        return super().train(resume_from_checkpoint=resume_from_checkpoint, **kwargs)

    def restore_counters(self) -> None:
        """Take back the checkpoint's running sums (as training begins: after the Trainer has
        zeroed them, before the first step)."""
        saved = self._resumed_counters
        if not saved or saved.get("global_step") != self.state.global_step:
            return
        restore_running_sums(self, saved)
        self.computed_tokens = int(saved["computed_tokens"])

    def mean_train_loss(self) -> float | None:
        """The training loss averaged over every step of the run, resumed or not."""
        return mean_loss(self)

    def _save_checkpoint(self, model: nn.Module, trial: Any) -> None:
        # written before the Trainer's own files: its trainer_state.json comes last and marks a
        # complete checkpoint (last_complete_checkpoint), so a complete one holds the counters
        folder = checkpoint_folder(self, trial)
        write_json_atomic(folder / COUNTERS_FILE.format(rank=self.args.process_index),
                          self.counters())
        super()._save_checkpoint(model, trial)

    def compute_loss(self, model: nn.Module, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        # TRL rebuilds the full logits in one more forward pass when asked for the outputs:
        # ask only when someone reads them (an extra loss, or the caller)
        want = return_outputs or (model.training
                                   and any(needs_outputs(t) for t in self.extra_losses))
        tokens = None
        if is_shared_batch(inputs):
            inputs = dict(inputs)
            tokens = int(inputs.pop("record_tokens"))
            computed = int(inputs.pop("computed_tokens"))
            if not self._head_at_supervised_positions(model, want):
                raise TunesmithError("train.shared_context: a shared-context batch reached a "
                                     "loss that needs every position's logits; set "
                                     "train.shared_context: false")
            if model.training:  # the Trainer would count a 4-D mask's entries: count here
                counts = torch.tensor([tokens, computed], device=self.args.device)
                counts = self.accelerator.gather(counts).view(-1, 2).sum(0)  # every process
                self.state.num_input_tokens_seen += int(counts[0])
                self.computed_tokens += int(counts[1])
        if self._head_at_supervised_positions(model, want):
            loss = self._supervised_loss(model, inputs, num_items_in_batch, tokens)
            outputs = None
        else:
            smoother = self.label_smoother
            if not model.training:
                self.label_smoother = None  # scored unsmoothed (see the class docstring)
            try:
                result = super().compute_loss(model, inputs, return_outputs=want,
                                              num_items_in_batch=num_items_in_batch)
            finally:
                self.label_smoother = smoother
            loss, outputs = result if want else (result, None)
        if model.training:
            extra = self.method.extra_loss(model)
            if extra is not None:
                loss = loss + extra
            for term in self.extra_losses:  # outputs is None on the supervised-head path
                loss = loss + term(model, inputs, outputs)
        return (loss, outputs) if return_outputs else loss

    def _head_at_supervised_positions(self, model: nn.Module, want_outputs: bool) -> bool:
        """train.losses on the CPU, where TRL's fused head scores every position; TRL's own
        path wherever outputs, label smoothing or another loss type are needed."""
        if self.supervised_head is None:
            self.supervised_head = (self.args.use_cpu or not torch.cuda.is_available()) and \
                accepts_logits_to_keep(model)
        smoothing = self.label_smoother is not None and model.training
        nll = getattr(self.args, "loss_type", "nll") == "nll"
        return (self.supervised_head and not want_outputs and not smoothing
                and self.compute_loss_func is None and nll)

    def _supervised_loss(self, model: nn.Module, inputs: dict[str, Any],
                         num_items_in_batch: Any, tokens: int | None = None) -> torch.Tensor:
        """The loss, and the metrics TRL logs for it (entropy, token accuracy, tokens seen;
        ``tokens``: the batch's records' tokens, where its mask does not count them)."""
        mode = "train" if model.training else "eval"
        result = supervised_loss(model, inputs, num_items_in_batch)
        loss = result.loss
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes  # as TRL: DDP averages the gradients
        gather = self.accelerator.gather_for_metrics
        num_valid = gather(result.num_valid).sum()
        entropy = gather(result.entropy_sum).sum()
        correct = gather(result.num_correct).sum()
        metrics = metric_lists(self, mode)
        metrics["entropy"].append((entropy / num_valid).item() if num_valid else 0.0)
        metrics["mean_token_accuracy"].append(
            (correct / num_valid).item() if num_valid else 0.0)
        added = 0
        if mode == "train":
            seen = inputs["attention_mask"].sum() if tokens is None else torch.tensor(tokens)
            added = int(gather(seen).sum().item())
        metrics["num_tokens"] = [add_train_tokens(self, added)]
        return loss


class _RestoreCountersCallback(TrainerCallback):
    """``on_train_begin`` fires after the Trainer has zeroed its running sums, before a step."""

    def __init__(self, trainer: SFTTrainer):
        self.trainer = trainer

    def on_train_begin(self, args: TrainingArguments, state: TrainerState,
                       control: TrainerControl, **kwargs: Any) -> None:
        self.trainer.restore_counters()


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameters; a 4-bit parameter packs two values per stored byte."""
    trainable = total = 0
    for param in model.parameters():
        n = param.numel()
        if type(param).__name__ == "Params4bit":
            n *= 2
        total += n
        trainable += n if param.requires_grad else 0
    return trainable, total


def planned_steps(n_examples: int, config: RunConfig) -> int:
    """Optimizer steps the run will take: ``max_steps`` if set, else epochs x steps/epoch."""
    if config.train.max_steps:
        return config.train.max_steps
    epochs = resolved(config.train.epochs, "train.epochs")
    return max(1, math.ceil(epochs * steps_per_epoch(n_examples, config.train)))


def train_sft(
    config: RunConfig,
    base_model: str,
    data_dir: Path,
    out_dir: Path,
    console: Console | None = None,
    extra_losses: list[ExtraLoss] | None = None,
    extra_records: list[QARecord] | None = None,
    callbacks: list[TrainerCallback] | None = None,
) -> TrainResult:
    """Train ``config``'s method on ``data_dir``'s splits and save it under ``out_dir``.

    ``extra_records`` join the training split (replay of general examples against forgetting);
    ``callbacks`` join the Trainer's (a schedule for an extra loss's weight, for example).
    """
    train_records = read_records(data_dir / "train.jsonl") + list(extra_records or [])
    val_records = read_records(data_dir / "val.jsonl")
    if not train_records:
        raise DataFileError(f"{data_dir / 'train.jsonl'}: no training records")
    hardware = choose_hardware(config.train)
    optimizer = choose_optimizer(config.train, hardware.device)
    tokenizer = load_tokenizer(base_model, revision=config.model.revision,
                               trust_remote_code=config.model.trust_remote_code)

    # the records as TRL's prompt/completion examples, or packed by context (train.packing)
    shared, shared_why = shared_context_applies(config, hardware, extra_losses)
    data = (shared_data(tokenizer, train_records, val_records, config) if shared
            else plain_data(train_records, val_records, config))

    # the method: built from the registry, told the schedule, asked how to load the base
    options = config.method.options
    method = METHODS.get(config.method.name)()
    method.total_steps = planned_steps(data.n_units, config)
    if hasattr(method, "tokenizer_path"):  # soft prompts initialised from text
        method.tokenizer_path = base_model
    # the method's new weights (LoRA's A, an adapter's projections) are drawn before the Trainer
    # seeds anything: without this, two runs with the same seed started from different weights
    set_seed(config.seed)
    base = load_causal_lm(base_model, dtype=hardware.torch_dtype, revision=config.model.revision,
                          trust_remote_code=config.model.trust_remote_code,
                          **method.load_kwargs(options))
    model = method.prepare(base, options)
    trainable, total = count_parameters(model)
    if shared and not accepts_logits_to_keep(model):  # a prompt-learning method shifts positions
        if config.train.shared_context is True:
            raise TunesmithError(f"train.shared_context: method {config.method.name} prepends "
                                 "virtual tokens, so records cannot share positions; set it "
                                 "to auto or false")
        shared, shared_why = False, f"shared context off: {config.method.name} prepends tokens"
        data = plain_data(train_records, val_records, config)
    train_ds, eval_ds = data.train, data.eval

    t = config.train
    batch_size = resolved(t.batch_size, "train.batch_size")
    label_smoothing = resolved(t.label_smoothing, "train.label_smoothing")
    if label_smoothing and "deepspeed" in optimizer.kwargs:
        raise TunesmithError("train.label_smoothing: TRL does not support label smoothing "
                             "under DeepSpeed (train.offload_optimizer); set one of them off")
    # evaluation, checkpoints (seed: every 1000 steps or 0.3 epoch) and early stopping
    schedule = evaluation_plan(t, data.n_units, has_eval=eval_ds is not None)
    checkpoint_dir = out_dir / "checkpoints"
    fingerprint = sha256_json({
        "config": config.model_dump(include={"model", "method", "train", "guard", "seed"}),
        "base_model": base_model,
        "data": [r.id for r in train_records],
    })
    resume = prepare_checkpoints(checkpoint_dir, fingerprint)

    args = SFTConfig(
        output_dir=str(checkpoint_dir),
        num_train_epochs=resolved(t.epochs, "train.epochs"),
        max_steps=t.max_steps or -1,
        learning_rate=resolved(t.learning_rate, "train.learning_rate"),
        per_device_eval_batch_size=batch_size,
        max_length=t.max_length,
        **checkpointing_kwargs(hardware.gradient_checkpointing),
        packing=False,  # measured slower on CPU (DEVELOPERS.md: 203 vs 459 tokens/s)
        train_sampling_strategy="group_by_length" if t.group_by_length and not shared
        else "random",  # a shared-context bin is already one batch of its own
        **schedule.kwargs,  # with save_total_limit
        label_smoothing_factor=label_smoothing,
        # shared-context batches count their records' tokens in compute_loss
        include_num_input_tokens_seen="no" if shared else "non_padding",
        **{**shared_training_kwargs(t, hardware, config.seed, data.n_units),
           **data.trainer_kwargs},
        **optimizer.kwargs,
    )
    with label_smoothing_deprecation_silenced():
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=train_ds,
            eval_dataset=eval_ds,
            processing_class=tokenizer,
            data_collator=data.collator,
            method=method,
            extra_losses=extra_losses,
            callbacks=[RichProgressCallback(f"fine-tuning ({config.method.name})", console),
                       MetricsFileCallback(out_dir / "metrics.jsonl"),
                       StepHooksCallback(method.step_hooks(model)), *(callbacks or [])],
        )
    trainer.remove_callback(PrinterCallback)  # our bar and metrics.jsonl report the logs
    metrics: dict[str, Any] = {
        "method": config.method.name, "trainable_params": trainable, "total_params": total,
        "trainable_percent": 100.0 * trainable / total if total else 0.0,
        "world_size": world_size(),  # processes (tunesmith train --nproc)
    }
    if eval_ds is not None:
        metrics["base_eval_loss"] = _base_eval_loss(trainer, config, base_model, hardware)
    for callback in schedule.callbacks:  # after the base score, which early stopping must not see
        trainer.add_callback(callback)
    if console is not None and resume:
        console.print(f"resuming from {resume}")
    output = trainer.train(resume_from_checkpoint=resume)
    metrics.update(output.metrics)
    metrics["train_loss"] = trainer.mean_train_loss()  # over every step, resumed or not
    if trainer.state.log_history and "train_loss" in trainer.state.log_history[-1]:
        trainer.state.log_history[-1]["train_loss"] = metrics["train_loss"]  # metrics.jsonl
    if schedule.patience_evaluations is not None:
        metrics["early_stopped"] = trainer.state.global_step < trainer.state.max_steps
        metrics["best_eval_loss"] = trainer.state.best_metric
        metrics["best_checkpoint"] = trainer.state.best_model_checkpoint
    seen = int(trainer.state.num_input_tokens_seen or 0)
    runtime = float(output.metrics.get("train_runtime") or 0.0)
    metrics["train_tokens"] = seen
    metrics["train_tokens_per_second"] = seen / runtime if runtime > 0 else None
    if shared:  # the tokens the shared-context batches ran, of the records' `seen`
        metrics["train_tokens_computed"] = trainer.computed_tokens
    if eval_ds is not None:
        metrics.update(trainer.evaluate())
    MetricsFileCallback(out_dir / "metrics.jsonl").on_log(
        args, trainer.state, trainer.control, logs=metrics
    )

    adapter_dir = out_dir / "adapter"
    if trainer.is_world_process_zero():  # every rank holds the same weights: one writes them
        _save_atomically(method, model, tokenizer, adapter_dir,
                         {"name": config.method.name, "options": options.model_dump(mode="json"),
                          "tunesmith_version": __version__, "trainable_params": trainable,
                          "total_params": total})
    barrier()
    reasons = [*hardware.reasons, shared_why, *data.reasons, *optimizer.reasons,
               *schedule.reasons]
    if label_smoothing:
        reasons.append(f"label smoothing {label_smoothing:g} on the training loss")
    return TrainResult(adapter_dir, metrics, hardware, resume, reasons)


def _base_eval_loss(trainer: SFTTrainer, config: RunConfig, base_model: str,
                    hardware: HardwareChoice) -> float | None:
    """The untouched base model's loss on the validation split, on the same batches.

    A PEFT model scores its base with the adapter switched off; a native method changed the
    module itself, so a second copy of the base is loaded for the measurement and dropped.
    """
    model: Any = trainer.model
    if hasattr(model, "disable_adapter"):
        with model.disable_adapter():
            result = trainer.evaluate(metric_key_prefix="base_eval")
    else:
        base: Any = load_causal_lm(base_model, dtype=hardware.torch_dtype,
                                   revision=config.model.revision,
                                   trust_remote_code=config.model.trust_remote_code)
        # TRL scores with a fused LM head it patched into the trained model: the same on the copy
        add_scoring_head(base)
        trainer.model = base.to(trainer.args.device)
        try:
            result = trainer.evaluate(metric_key_prefix="base_eval")
        finally:
            trainer.model = model
            del base
    trainer.accelerator.free_memory()  # drop what evaluate() prepared; train() prepares anew
    loss = result.get("base_eval_loss")  # absent when every example was truncated away
    return float(loss) if loss is not None else None


def _save_atomically(method: TuningMethod, model: nn.Module, tokenizer: Any, adapter_dir: Path,
                     record: dict[str, Any]) -> None:
    """Save through the method into a temporary sibling, then swap it into place."""
    adapter_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".adapter.", dir=adapter_dir.parent))
    method.save(model, tmp)
    tokenizer.save_pretrained(str(tmp))
    write_json_atomic(tmp / METHOD_FILE, record)
    if adapter_dir.exists():
        shutil.rmtree(adapter_dir)
    tmp.rename(adapter_dir)
