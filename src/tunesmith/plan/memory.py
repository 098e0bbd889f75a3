"""Peak training memory, term by term: weights, gradients, optimizer states, activations, the
loss, the adapter and framework overhead.

Where each number comes from:

* Activations are counted tensor by tensor from what autograd saves in a transformers LLaMA
  decoder layer (``tests/unit/plan/test_memory.py`` checks the count against
  ``torch.autograd.graph.saved_tensors_hooks`` exactly). Per token and layer, with SDPA
  attention: ``8h + 2·kv + 4·i + heads + 2`` elements for full training (h: hidden, kv: key/value
  width, i: FFN width). With a frozen base, the RMSNorm inputs kept for the weights' gradients
  (2h) and the inputs of frozen projections that no adapter reads go away; each adapter adds
  its rank (and, with dropout, a copy of its input and the mask). Eager attention also keeps
  the attention probabilities (``heads · seq`` per token). In half precision the RMSNorms keep
  an fp32 copy of their input.
* The loss: transformers upcasts the whole ``tokens × vocab`` logits to fp32; cross-entropy
  keeps its log-softmax; its backward holds that, its gradient and the logits' gradient at
  once (3 fp32 copies). A chunked or fused cross-entropy (torchtune, Liger) keeps the logits
  in the compute dtype and one fp32 chunk at a time.
* The peak is the larger of (a) the start of backward: weights + optimizer states + every
  saved activation + the loss buffers, and (b) the optimizer step: weights + optimizer states +
  every gradient + the optimizer's temporaries.

Everything is in bytes internally and GiB (2**30) in what is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tunesmith.errors import TunesmithError
from tunesmith.plan.catalog import ModelShape
from tunesmith.plan.methods import ALL_LINEAR, profile, resolve_targets, trainable_params

GiB = 2**30
BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "mixed": 4}
# QLoRA: NF4 (4 bits) + double-quantised constants (8-bit absmax per 64 weights, fp32 per
# 256 blocks): 4 + 8/64 + 32/(64*256) = 4.127 bits per weight (Dettmers et al., 2023, §3)
NF4_BYTES = 4.127 / 8
# optimizer state bytes per trainable parameter, by optimizer, for 4-byte parameters
OPTIMIZER_STATE = {"adamw": 2.0, "adamw_8bit": 0.5, "paged_adamw_8bit": 0.5, "sgd": 1.0,
                   "adafactor": 0.0}
CUDA_OVERHEAD_GIB = 0.25  # cuBLAS workspaces and allocator rounding (allocator peak, no context)
CUDA_CONTEXT_GIB = 0.5  # the CUDA context: seen by nvidia-smi, not by torch's allocator


class EstimateError(TunesmithError):
    pass


@dataclass(frozen=True)
class TrainSetup:
    """One training configuration to size. Defaults follow the seed and common practice."""

    method: str = "lora"
    precision: str = "bf16"  # fp32 | fp16 | bf16 | mixed (fp32 master weights, bf16 compute)
    batch_size: int = 1
    seq_len: int = 512
    gradient_checkpointing: bool = False
    optimizer: str = "adamw"  # adamw | adamw_8bit | paged_adamw_8bit | sgd | adafactor
    optimizer_in_backward: bool = False
    lora_rank: int = 8  # seed: "Optimal rank: r=8"
    lora_targets: tuple[str, ...] = ("q_proj", "v_proj")  # seed: target_modules q_proj, v_proj
    lora_dropout: float = 0.05
    trainable_layers: int = 2
    virtual_tokens: int = 20
    attention: str = "sdpa"  # sdpa (flash/memory-efficient) | eager
    loss: str = "full"  # full (transformers: fp32 logits) | chunked (torchtune, Liger)
    loss_chunks: int = 8
    zero_stage: int = 0
    offload_optimizer: bool = False
    offload_params: bool = False
    gpus: int = 1
    device: str = "cuda"

    def __post_init__(self) -> None:
        choices = {"precision": tuple(BYTES), "optimizer": tuple(OPTIMIZER_STATE),
                   "loss": ("full", "chunked"), "attention": ("sdpa", "eager"),
                   "zero_stage": (0, 1, 2, 3), "device": ("cuda", "cpu")}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise EstimateError(f"{key} {getattr(self, key)!r}: expected one of "
                                    f"{', '.join(map(str, allowed))}")
        if self.batch_size < 1 or self.seq_len < 1 or self.gpus < 1:
            raise EstimateError("batch size, sequence length and GPU count must be >= 1")
        if self.offload_params and self.zero_stage != 3:
            raise EstimateError("parameter offload needs ZeRO stage 3 (DeepSpeed's rule)")
        profile(self.method)  # unknown methods fail here, with the list of known ones


@dataclass
class MemoryEstimate:
    """Per-device peak memory (GiB) and what is alive at that moment.

    ``breakdown()`` adds up to ``peak``: at the start of backward the gradients are not yet
    there (``gradients`` is then 0 and ``gradients_total`` says how large they get); at the
    optimizer step the activations are gone.
    """

    weights: float
    gradients: float
    optimizer_states: float
    activations: float
    loss_buffers: float
    adapter: float
    framework_overhead: float
    peak: float
    phase: str  # which moment sets the peak: "backward" or "optimizer step"
    gradients_total: float
    activations_total: float
    trainable_params: int
    total_params: int
    offloaded_to_cpu: float = 0.0  # optimizer states or weights held in CPU memory
    notes: list[str] = field(default_factory=list)

    def breakdown(self) -> dict[str, float]:
        keys = ("weights", "gradients", "optimizer_states", "activations", "loss_buffers",
                "adapter", "framework_overhead")
        return {k: round(getattr(self, k), 4) for k in keys}

    def to_dict(self) -> dict[str, object]:
        return {"peak_memory_gib": round(self.peak, 3), "peak_phase": self.phase,
                "breakdown_gib": self.breakdown(),
                "gradients_total_gib": round(self.gradients_total, 4),
                "activations_total_gib": round(self.activations_total, 4),
                "offloaded_to_cpu_gib": round(self.offloaded_to_cpu, 3),
                "trainable_params": self.trainable_params, "total_params": self.total_params,
                "notes": self.notes}


def _act_bytes(setup: TrainSetup) -> int:
    return 2 if setup.precision in ("fp16", "bf16", "mixed") else 4


def layer_activation_elements(shape: ModelShape, setup: TrainSetup, seq_len: int) -> float:
    """Elements autograd keeps per token for one decoder layer (see the module docstring)."""
    h, kv, i, qd = shape.hidden, shape.kv_dim, shape.intermediate, shape.q_dim
    prof = profile(setup.method)
    if setup.attention == "sdpa":
        attn = 2 * qd + 2 * kv + shape.heads  # q, k, v, output, log-sum-exp per head
    else:  # eager: keys/values repeated to every head, and the probabilities kept
        attn = 4 * qd + shape.heads * seq_len
    # input norm (in, normalised), residual, post norm (in, normalised), q/k/v input,
    # gate/up input; the attention output doubles as o_proj's input; SwiGLU keeps 4 i
    elements: float = 6 * h + attn + 4 * i + 2
    if prof.kind in ("full", "freeze"):
        return elements
    targets = resolve_targets(setup.lora_targets) if prof.kind == "adapter" else ()
    if prof.kind != "norm":
        elements -= 2 * h  # norm outputs kept only for the norm weights' gradient
    if prof.kind in ("adapter", "vector", "bias", "bottleneck"):
        if not {"q_proj", "k_proj", "v_proj"} & set(targets) and prof.kind != "vector":
            elements -= h  # nobody reads the q/k/v input on the way back
        if not {"gate_proj", "up_proj"} & set(targets):
            elements -= h
        if "down_proj" not in targets and prof.kind != "vector":
            elements -= i
    elif prof.kind in ("prompt", "norm"):
        elements -= 2 * h + i
    if prof.kind == "adapter":
        lin = shape.linear_shapes()
        elements += setup.lora_rank * len(targets) * prof.adapter_factor
        if setup.lora_dropout > 0:  # dropout's output and its boolean mask, per target
            elements += sum(lin[t][0] for t in targets if t in lin) * (1 + 1 / _act_bytes(setup))
    if prof.kind == "bottleneck":
        elements += 2 * (h + 2 * 64)
    return elements


def _norm_fp32_bytes(shape: ModelShape, setup: TrainSetup) -> float:
    """Half precision: each RMSNorm keeps an fp32 copy of its input (transformers upcasts)."""
    return 2 * 4 * shape.hidden if _act_bytes(setup) < 4 else 0.0


def activation_bytes(shape: ModelShape, setup: TrainSetup) -> tuple[float, float]:
    """(bytes kept through the backward pass, bytes of one layer rebuilt by checkpointing)."""
    prof = profile(setup.method)
    seq = setup.seq_len + (setup.virtual_tokens if setup.method in ("prompt_tuning", "p_tuning")
                           else 0)
    tokens = setup.batch_size * seq
    layers = shape.layers
    if prof.kind == "freeze":  # nothing below the first trained layer needs a gradient
        layers = min(setup.trainable_layers, shape.layers)
    per_layer = (layer_activation_elements(shape, setup, seq) * _act_bytes(setup)
                 + _norm_fp32_bytes(shape, setup)) * tokens
    embed_out = tokens * shape.hidden * _act_bytes(setup)
    final_norm = tokens * shape.hidden * (_act_bytes(setup) + 4)
    if setup.gradient_checkpointing:
        stash = layers * tokens * shape.hidden * _act_bytes(setup)  # each layer's input
        return stash + embed_out + final_norm, per_layer
    return layers * per_layer + embed_out + final_norm, 0.0


def loss_bytes(shape: ModelShape, setup: TrainSetup) -> float:
    """The logits and cross-entropy buffers alive at the start of backward."""
    tokens = setup.batch_size * setup.seq_len
    logits = tokens * shape.vocab
    if setup.loss == "chunked":
        return logits * (_act_bytes(setup) + 3 * 4 / setup.loss_chunks)
    return logits * 3 * 4  # log-softmax, its gradient and the logits' gradient, in fp32


def _biggest_matrix(shape: ModelShape) -> int:
    return max(a * b for a, b in shape.linear_shapes().values())


def estimate_memory(shape: ModelShape, setup: TrainSetup) -> MemoryEstimate:
    prof = profile(setup.method)
    notes: list[str] = []
    p_bytes = BYTES[setup.precision]
    half = 4 if setup.precision == "fp32" else 2  # the compute dtype
    total = shape.params
    trainable = trainable_params(
        shape, setup.method, rank=setup.lora_rank, targets=resolve_targets(setup.lora_targets),
        trainable_layers=setup.trainable_layers, virtual_tokens=setup.virtual_tokens)
    base_trains = prof.kind in ("full", "freeze")
    n = setup.gpus

    if prof.quantized_base:
        linear = shape.layers * shape.layer_linear_params
        # one projection is dequantised to the compute dtype at a time
        weights = linear * NF4_BYTES + (total - linear) * half + _biggest_matrix(shape) * half
        notes.append("QLoRA: projections in NF4 with double quantisation (4.127 bits); "
                     "embeddings, norms and the output layer in the compute dtype")
    else:
        weights = float(total * p_bytes)
    # PEFT keeps adapter weights in fp32 (autocast_adapter_dtype); their gradients and
    # optimizer states follow. A trained base keeps them in its own dtype.
    t_bytes = p_bytes if base_trains else 4
    adapter = 0.0 if base_trains else trainable * t_bytes
    gradients: float = trainable * t_bytes
    state_bytes = OPTIMIZER_STATE[setup.optimizer] * (4 if "8bit" in setup.optimizer
                                                      else t_bytes)
    opt_states = trainable * state_bytes
    if setup.precision == "mixed" and base_trains:
        notes.append("mixed precision: fp32 master weights, gradients and states; bf16 compute")
    offloaded = 0.0
    if setup.optimizer == "paged_adamw_8bit":
        offloaded, opt_states = opt_states, 0.0
        notes.append("paged 8-bit AdamW: its states live in CUDA unified memory, paged out to CPU "
                     "under pressure; the allocator peak does not include them")
    biggest = min(trainable, max(shape.embedding_params, _biggest_matrix(shape)))
    if setup.optimizer_in_backward:
        gradients = min(gradients, biggest * t_bytes)
        notes.append("optimizer in backward: one parameter's gradient is alive at a time")

    if n > 1 and setup.zero_stage >= 1:
        opt_states /= n
    if n > 1 and setup.zero_stage >= 2:
        gradients /= n
    if n > 1 and setup.zero_stage == 3:
        weights = weights / n + 2 * shape.layer_params * p_bytes  # gathered + prefetched layer
    if setup.offload_optimizer:
        offloaded += opt_states
        opt_states = 0.0
    if setup.offload_params:
        offloaded += weights
        weights = 2 * shape.layer_params * p_bytes

    kept, rebuilt = activation_bytes(shape, setup)
    loss = loss_bytes(shape, setup)
    # mixed precision: autocast keeps a bf16 copy of each weight it cast until the forward ends
    # (ZeRO-3 gathers and casts one shard's worth per device)
    autocast_cache = shape.matmul_params * 2 if setup.precision == "mixed" else 0.0
    if n > 1 and setup.zero_stage == 3:
        autocast_cache /= n
    # the recomputed layer (checkpointing) peaks after the loss buffers are freed
    acts_at_backward = kept + max(rebuilt - loss, 0.0) + autocast_cache
    backward_start = acts_at_backward + loss
    # torch's single-tensor AdamW (the CPU default) makes ~2 temporaries of the largest
    # tensor; the foreach version (the CUDA default) about one
    opt_temp = (2 if setup.device == "cpu" else 1) * biggest * t_bytes
    step = gradients + opt_temp
    overhead = CUDA_OVERHEAD_GIB * GiB if setup.device == "cuda" else 0.0
    persistent = weights + opt_states + adapter + overhead
    if setup.device == "cuda":
        notes.append(f"allocator peak; the CUDA context adds ~{CUDA_CONTEXT_GIB} GiB "
                     "in nvidia-smi")
    at_backward = backward_start >= step
    return MemoryEstimate(
        weights=weights / GiB, optimizer_states=opt_states / GiB, adapter=adapter / GiB,
        framework_overhead=overhead / GiB,
        gradients=0.0 if at_backward else step / GiB,
        activations=acts_at_backward / GiB if at_backward else 0.0,
        loss_buffers=loss / GiB if at_backward else 0.0,
        peak=(persistent + max(backward_start, step)) / GiB,
        phase="backward" if at_backward else "optimizer step",
        gradients_total=gradients / GiB, activations_total=(kept + rebuilt) / GiB,
        trainable_params=trainable, total_params=total, offloaded_to_cpu=offloaded / GiB,
        notes=notes)


__all__ = ["ALL_LINEAR", "EstimateError", "MemoryEstimate", "TrainSetup", "estimate_memory"]
