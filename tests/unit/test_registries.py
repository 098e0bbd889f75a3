"""Each registry and every table derived from it agree: a name added in one place and not the
other fails here, not for a user."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import ValidationError

from tunesmith.config import ConfigError, parse_config
from tunesmith.config.data import DataConfig
from tunesmith.config.data_gen import AugmentConfig, GenerateConfig
from tunesmith.config.model import TASKS
from tunesmith.data.augment import AUGMENTERS
from tunesmith.data.formats import EXPORTERS, IMPORTERS
from tunesmith.data.generate import GENERATORS
from tunesmith.data.sources import READERS
from tunesmith.data.sources.base import register_reader
from tunesmith.guard.calibrate import default_gates
from tunesmith.guard.gates import GATES, Gate, Signals, register_gate
from tunesmith.methods import METHODS
from tunesmith.plan.methods import sizable_methods

# `peft` wraps whichever PEFT tuner its `peft_type` names, so no one memory profile fits it
UNSIZED = {"peft"}


def test_the_planner_sizes_every_registered_method_and_no_other() -> None:
    assert set(sizable_methods()) == set(METHODS.names()) - UNSIZED
    assert all(METHODS.get(name).memory is None for name in UNSIZED)


def test_the_config_takes_every_registered_generator_and_suggests_the_nearest() -> None:
    for name in GENERATORS.names():
        assert DataConfig(generate=GenerateConfig(generator=name)).generate.generator == name
    with pytest.raises(ValidationError, match="did you mean 'rules'") as error:
        DataConfig.model_validate({"generate": {"generator": "rulse"}})
    assert error.value.errors()[0]["loc"] == ("generate", "generator")


def test_every_registry_has_members_with_unique_names() -> None:
    for registry in (METHODS, GENERATORS, GATES, AUGMENTERS, IMPORTERS, EXPORTERS):
        names = registry.names()
        assert names and len(names) == len(set(names)), registry.kind


def test_each_augmenter_is_turned_on_by_the_data_augment_key_of_its_name() -> None:
    assert set(AUGMENTERS.names()) <= set(AugmentConfig.model_fields)
    orders = [AUGMENTERS.get(name).order for name in AUGMENTERS.names()]
    assert len(orders) == len(set(orders))  # the run order (and so each seed) is unambiguous


@dataclass(frozen=True)
class _EchoGate(Gate):
    def value(self, s: Signals) -> float | None:
        return s.extras.get("echo")


def test_a_new_gate_is_one_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    """What docs/extending.md promises: the registered gate joins the defaults of its tasks, in
    its rank's place, and the guard's decision reads it; nothing else is edited."""
    monkeypatch.setattr(GATES, "_items", dict(GATES._items))  # the registration is undone after
    register_gate(_EchoGate("echo", "a test gate", 0.5, "above", "test", tasks=("causal_lm",),
                            rank=65))
    names = default_gates("causal_lm", False)
    assert names[names.index("min_confidence") + 1] == "echo"  # rank 65: before perplexity (70)
    assert "echo" not in default_gates("extractive_qa", False)
    signals = Signals("Q?", "context", "answer", extras={"echo": 0.9})
    assert GATES.get("echo").fires(GATES.get("echo").value(signals), 0.5)


def test_every_method_declares_the_tasks_it_trains_and_the_config_holds_to_them() -> None:
    for name in METHODS.names():
        tasks = METHODS.get(name).tasks
        assert tasks and set(tasks) <= set(TASKS), name
    for task in TASKS:  # every task can be trained by some method
        assert any(task in METHODS.get(n).tasks for n in METHODS.names()), task
    assert METHODS.get("qlora").tasks == ("causal_lm",)  # its 4-bit base is a causal LM's
    text = ("name: x\ndata: {sources: [{path: docs}]}\n"
            "model: {name: all-MiniLM-L6-v2, task: extractive_qa}\nmethod: {name: %s}\n")
    assert parse_config(text % "lora").method.name == "lora"
    with pytest.raises(ConfigError, match=r"config:4: 'method.name': method 'qlora' does not "
                       r"train model.task 'extractive_qa' \(it trains causal_lm\); methods "
                       r"that do: .*lora"):
        parse_config(text % "qlora")


def test_the_config_takes_every_registered_reader_and_a_new_one_without_another_edit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in READERS.names():
        assert DataConfig.model_validate(
            {"sources": [{"path": "d", "kind": name, "kinds": [name]}]}).sources[0].kind == name
    with pytest.raises(ValidationError, match="did you mean 'html'") as error:
        DataConfig.model_validate({"sources": [{"path": "d", "kinds": ["md", "htm"]}]})
    assert error.value.errors()[0]["loc"] == ("sources", 0, "kinds", 1)
    monkeypatch.setattr(READERS, "_items", dict(READERS._items))  # undone after the test
    register_reader("rst", (".rst",))(lambda context: [])
    assert DataConfig.model_validate({"sources": [{"path": "d", "kind": "rst"}]})


def test_formats_and_readers_are_found_by_importing_their_packages() -> None:
    import pkgutil

    # every module is imported (a new one registers without an import line elsewhere)
    import sys

    import tunesmith.data.formats as formats
    import tunesmith.data.sources as sources
    for package in (formats, sources):
        for module in pkgutil.iter_modules(package.__path__):
            assert f"{package.__name__}.{module.name}" in sys.modules
    assert {"squad", "nq", "hotpotqa"} <= set(IMPORTERS.names())
    assert {"md", "txt", "html", "pdf", "jsonl", "squad"} <= set(READERS.names())
