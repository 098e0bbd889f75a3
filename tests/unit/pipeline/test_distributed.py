"""The multi-process launcher's commands and checks (the 2-process run itself:
tests/integration/test_train_distributed.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tunesmith.config import RunConfig
from tunesmith.errors import TunesmithError
from tunesmith.pipeline.distributed import Launch, choose_strategy, launch_command, worker_args
from tunesmith.train.hardware import steps_per_epoch
from tunesmith.utils import dist

WORKER = worker_args(Path("t.yaml"), ["train.epochs=2"], force=True)


def _config(**plan: object) -> RunConfig:
    return RunConfig.model_validate({"name": "x", "model": {"name": "tiny"},
                                     "data": {"sources": [{"path": "docs"}]}, "plan": plan})


def test_one_node_ddp_is_torchrun_standalone() -> None:
    cmd = launch_command(Launch(2), "DDP", WORKER)
    assert cmd[:5] == [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                       "--standalone"]
    assert cmd[5:] == ["-m", "tunesmith.pipeline.distributed", "t.yaml",
                       "--set=train.epochs=2", "--force"]


def test_several_nodes_meet_at_the_rendezvous() -> None:
    cmd = launch_command(Launch(4, nnodes=2, rdzv="node001:29500"), "DDP", WORKER, run_id="q")
    assert "--standalone" not in cmd
    assert {"--nnodes=2", "--rdzv_backend=c10d", "--rdzv_endpoint=node001:29500",
            "--rdzv_id=q"} <= set(cmd)


def test_sharded_strategies_go_through_accelerate_with_the_planners_file(tmp_path: Path
                                                                          ) -> None:
    file = tmp_path / "accelerate.yaml"
    cmd = launch_command(Launch(8, nnodes=2, rdzv="10.0.0.1:29500", node_rank=1), "ZeRO-3",
                         WORKER, file)
    assert cmd[1:3] == ["-m", "accelerate.commands.launch"]
    joined = " ".join(cmd)
    assert f"--config_file {file} --num_processes 16 --num_machines 2" in joined
    assert "--machine_rank 1 --main_process_ip 10.0.0.1 --main_process_port 29500" in joined
    with pytest.raises(TunesmithError, match="accelerate config"):
        launch_command(Launch(2), "FSDP", WORKER)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"nproc": 0}, "--nproc 0"),
    ({"nproc": 2, "nnodes": 2}, "--rdzv HOST:PORT"),
    ({"nproc": 2, "nnodes": 2, "rdzv": "node001"}, "expected HOST:PORT"),
])
def test_bad_launch_flags_name_the_flag(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(TunesmithError, match=message):
        Launch(**kwargs)  # type: ignore[arg-type]


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a CPU-only check")
def test_cpu_strategy_is_ddp_and_sharding_is_refused() -> None:
    label, why = choose_strategy(_config(), 2)
    assert label == "DDP" and "gloo" in why
    assert choose_strategy(_config(distributed="ddp"), 2)[0] == "DDP"
    with pytest.raises(TunesmithError, match="plan.distributed 'zero3'"):
        choose_strategy(_config(distributed="zero3"), 2)


def test_world_size_divides_the_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    train = _config().train.model_copy(update={"batch_size": 2,
                                               "gradient_accumulation_steps": 1})
    assert dist.world_size() == 1 and dist.is_main_process()
    assert steps_per_epoch(18, train) == 9
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert steps_per_epoch(18, train) == 5  # 4 examples a step, the last one short
    assert not dist.is_main_process()
