"""Training FLOPs and time: about 6N per token for full training, less when the backbone is
frozen, plus the attention term, over the accelerator's peak times a utilisation.

Forward: 2 FLOPs per matmul parameter per token, plus 4·layers·seq·q_dim for the attention
scores and their weighted sum (Kaplan et al., 2020; PaLM appendix B counts the same 12·L·h·s
for forward + backward). Backward costs one forward for the inputs' gradients and one for
the weights' gradients: 3 forwards for full training (6N). A frozen base skips the weights'
gradients (about 2 forwards, 4N); layers below a frozen bottom need no backward at all;
activation checkpointing adds one more forward.
"""

from __future__ import annotations

from dataclasses import dataclass

from tunesmith.plan.catalog import ModelShape
from tunesmith.plan.memory import TrainSetup
from tunesmith.plan.methods import profile

# seed: "A100: 312 TFLOPS, util: 0.4"
DEFAULT_UTILISATION = 0.4


def forward_flops_per_token(shape: ModelShape, seq_len: int) -> float:
    return 2.0 * shape.matmul_params + 4.0 * shape.layers * seq_len * shape.q_dim


def training_passes(shape: ModelShape, setup: TrainSetup) -> float:
    """Training cost per token in units of one forward pass."""
    prof = profile(setup.method)
    if prof.kind == "full":
        passes = 3.0
    elif prof.kind == "freeze":
        share = min(setup.trainable_layers, shape.layers) / shape.layers
        passes = 1.0 + 2.0 * share  # only the top layers run backward at all
    else:
        passes = 2.0  # input gradients through every layer; adapters' own cost is small
    if setup.gradient_checkpointing:
        passes += 1.0 if prof.kind != "freeze" else (passes - 1.0) / 2.0
    return passes


def training_flops_per_token(shape: ModelShape, setup: TrainSetup) -> float:
    return forward_flops_per_token(shape, setup.seq_len) * training_passes(shape, setup)


@dataclass(frozen=True)
class TimeEstimate:
    flops_per_token: float
    tokens: float
    hours: float
    tokens_per_second: float
    utilisation: float
    peak_tflops_per_device: float
    devices: int

    def to_dict(self) -> dict[str, float]:
        return {"flops_per_token": self.flops_per_token, "tokens": self.tokens,
                "hours": round(self.hours, 4),
                "tokens_per_second": round(self.tokens_per_second, 1),
                "utilisation": self.utilisation,
                "peak_tflops_per_device": self.peak_tflops_per_device, "devices": self.devices}


def estimate_time(shape: ModelShape, setup: TrainSetup, tokens: float, peak_tflops: float,
                  utilisation: float = DEFAULT_UTILISATION) -> TimeEstimate:
    """Time to process ``tokens`` training tokens on ``setup.gpus`` devices."""
    per_token = training_flops_per_token(shape, setup)
    rate = peak_tflops * 1e12 * utilisation * setup.gpus
    tps = rate / per_token
    return TimeEstimate(per_token, tokens, tokens / tps / 3600.0, tps, utilisation,
                        peak_tflops, setup.gpus)


def step_seconds(shape: ModelShape, setup: TrainSetup, flops_per_second: float) -> float:
    """Predicted seconds per optimizer step at a sustained ``flops_per_second``."""
    tokens = setup.batch_size * setup.seq_len
    return training_flops_per_token(shape, setup) * tokens / flops_per_second
