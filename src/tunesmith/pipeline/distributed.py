"""``tunesmith train CONFIG --nproc N``: training in N processes per node, on an existing engine.

The launcher builds the data and the base model once, in this process, then starts the
workers through torchrun (DDP: gloo on a CPU, NCCL on GPUs) or, for DeepSpeed ZeRO-2/3 and
FSDP, through ``accelerate launch`` with the config files the planner writes
(``tunesmith.plan.emit``). Each worker is ``python -m tunesmith.pipeline.distributed``: it
joins the process group and runs the pipeline's train stage, whose Trainer does the
distributed work; the main process alone writes the adapter, the manifest and the report.

``train.batch_size`` stays the per-process batch, as in ``TrainingArguments``: N processes
take N x batch_size x accumulation examples per optimizer step, and the step count shrinks
to match.

Several machines: the same command on every node, with ``--nnodes M`` and a rendezvous
``--rdzv HOST:PORT`` (torchrun's c10d rendezvous; every node reads the same run folder, on a
shared file system). Under Slurm, ``srun`` starts one launcher per node (docs/training.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console

from tunesmith.config import RunConfig, load_config
from tunesmith.config.auto import is_auto
from tunesmith.errors import TunesmithError
from tunesmith.pipeline.run import run_pipeline
from tunesmith.plan.advise import multi_gpu_strategies
from tunesmith.plan.catalog import GPU
from tunesmith.plan.emit import write_launch_files
from tunesmith.plan.planner import detect_hardware, setup_for, shape_for
from tunesmith.utils.dist import init_process_group, is_main_process
from tunesmith.utils.layout import RunLayout

# plan.distributed -> the planner's strategy label (tunesmith.plan.advise.STRATEGIES)
STRATEGY_LABELS = {"ddp": "DDP", "zero2": "ZeRO-2", "zero3": "ZeRO-3", "fsdp": "FSDP"}
WORKER = "tunesmith.pipeline.distributed"


@dataclass(frozen=True)
class Launch:
    """Where the processes run: ``nproc`` per node on ``nnodes`` nodes."""

    nproc: int
    nnodes: int = 1
    rdzv: str | None = None  # HOST:PORT of the rendezvous (several nodes)
    node_rank: int | None = None  # this node's rank, where the launcher needs it (accelerate)

    def __post_init__(self) -> None:
        if self.nproc < 1:
            raise TunesmithError(f"--nproc {self.nproc}: give at least 1 process")
        if self.nnodes < 1:
            raise TunesmithError(f"--nnodes {self.nnodes}: give at least 1 node")
        if self.nnodes > 1 and not self.rdzv:
            raise TunesmithError(f"--nnodes {self.nnodes}: several nodes need --rdzv HOST:PORT, "
                                 "the rendezvous every node can reach")
        if self.rdzv is not None:
            host, _, port = self.rdzv.rpartition(":")
            if not host or not port.isdigit():
                raise TunesmithError(f"--rdzv {self.rdzv!r}: expected HOST:PORT, e.g. "
                                     "node001:29500")

    @property
    def world_size(self) -> int:
        return self.nproc * self.nnodes


def choose_strategy(config: RunConfig, world: int) -> tuple[str, str]:
    """The strategy label and why: ``plan.distributed``, or on 'auto' DDP on a CPU and on
    GPUs the first strategy whose per-GPU memory estimate fits (the planner's advice)."""
    import torch

    chosen = config.plan.distributed
    if not is_auto(chosen):
        label = STRATEGY_LABELS[chosen]
        if label != "DDP" and not torch.cuda.is_available():
            raise TunesmithError(f"plan.distributed {chosen!r}: DeepSpeed and FSDP shard "
                                 "over GPUs and this machine has none; use 'ddp' (or 'auto')")
        return label, f"plan.distributed: {chosen}"
    if not torch.cuda.is_available():
        return "DDP", "DDP over gloo: a CPU has no GPU memory to save by sharding"

    hw = detect_hardware(config)
    card = GPU(key="local", label=hw.label, memory_gib=hw.memory_gib, tflops_bf16=1.0,
               tflops_fp32=1.0, bf16=hw.bf16, usd_per_hour=0.0)
    best, rows = multi_gpu_strategies(shape_for(config), setup_for(config, hw), card, world)
    if best is None:
        peaks = ", ".join(f"{r['strategy']} {r['per_gpu_peak_gib']} GiB" for r in rows)
        raise TunesmithError(f"no strategy fits {world} x {hw.label} ({hw.memory_gib:.0f} GiB "
                             f"each) by the planner's estimate ({peaks}); use more GPUs or "
                             "QLoRA, or set plan.distributed to try anyway")
    return best, f"the planner's first strategy that fits {world} x {hw.label}"


def launch_files(config: RunConfig, label: str, world: int, out_dir: Path) -> Path:
    """The planner's accelerate (and DeepSpeed) config for ``label`` on ``world`` GPUs."""
    stage = {"ZeRO-2": 2, "ZeRO-3": 3, "FSDP": 3, "ZeRO-3 + offload": 3}[label]
    offload = label.endswith("offload")
    setup = replace(setup_for(config, detect_hardware(config)), gpus=world, zero_stage=stage,
                    offload_optimizer=offload, offload_params=offload)
    files = write_launch_files(out_dir, label.removesuffix(" + offload"), setup)
    return next(f for f in files if f.name == "accelerate.yaml")


def worker_args(config_path: Path, overrides: list[str], force: bool) -> list[str]:
    return [str(config_path), *(f"--set={o}" for o in overrides),
            *(["--force"] if force else [])]


def launch_command(launch: Launch, label: str, worker: list[str],
                   accelerate_file: Path | None = None, run_id: str = "tunesmith") -> list[str]:
    """The command that starts this node's workers."""
    if label == "DDP":
        cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={launch.nproc}"]
        if launch.nnodes == 1 and launch.rdzv is None:
            cmd.append("--standalone")
        else:
            cmd += [f"--nnodes={launch.nnodes}", "--rdzv_backend=c10d",
                    f"--rdzv_endpoint={launch.rdzv}", f"--rdzv_id={run_id}"]
        return [*cmd, "-m", WORKER, *worker]
    if accelerate_file is None:
        raise TunesmithError(f"{label}: the launch needs the planner's accelerate config")
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
           str(accelerate_file), "--num_processes", str(launch.world_size),
           "--num_machines", str(launch.nnodes)]
    if launch.nnodes > 1:
        assert launch.rdzv is not None
        host, _, port = launch.rdzv.rpartition(":")
        cmd += ["--machine_rank", str(launch.node_rank or 0), "--main_process_ip", host,
                "--main_process_port", port]
    return [*cmd, "-m", WORKER, *worker]


def train_distributed(config: RunConfig, config_path: Path, overrides: list[str], force: bool,
                      launch: Launch, console: Console) -> dict[str, str]:
    """Build the data and the model here, then train in ``launch``'s processes."""
    outcome = run_pipeline(config, until="model", force=force, console=console, report=False)
    label, why = choose_strategy(config, launch.world_size)
    accelerate_file = None
    if label != "DDP":
        accelerate_file = launch_files(config, label, launch.world_size,
                                       RunLayout.of(config).train_dir / "launch")
    cmd = launch_command(launch, label, worker_args(config_path, overrides, force),
                         accelerate_file, run_id=config.name)
    console.print(f"  train: {launch.world_size} processes ({launch.nnodes} node(s) x "
                  f"{launch.nproc}), {label}: {why}")
    console.print(f"  train: {' '.join(cmd)}", highlight=False, soft_wrap=True)
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get(
        "OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // launch.nproc)))}
    done = subprocess.run(cmd, env=env, check=False)
    if done.returncode != 0:
        raise TunesmithError(f"distributed training ended with exit code {done.returncode} "
                             "(the workers' messages are above); re-run the same command to "
                             "resume from the last checkpoint")
    return {**outcome, "train": "ran"}


def _worker(argv: list[str] | None = None) -> int:
    """One rank: join the group, run the train stage (the data and model are up to date)."""
    parser = argparse.ArgumentParser(prog=f"python -m {WORKER}")
    parser.add_argument("config", type=Path)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    config = load_config(args.config, args.overrides)
    init_process_group()
    console = Console(stderr=True, quiet=not is_main_process())
    try:
        run_pipeline(config, until="train", force=("train",) if args.force else False,
                     console=console)
    except TunesmithError as exc:
        Console(stderr=True).print(f"[bold red]error:[/bold red] {exc}", highlight=False)
        return 1
    finally:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(_worker())
