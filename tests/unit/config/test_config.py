from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from tunesmith.config import ConfigError, load_config, parse_config

MINIMAL = "name: demo\ndata:\n  sources:\n    - {path: docs/}\n"


def test_minimal_config_gets_defaults() -> None:
    cfg = parse_config(MINIMAL, Path("t.yaml"))
    assert cfg.schema_version == 1
    assert cfg.model.name == "tiny"
    assert cfg.method.r == 8 and cfg.method.alpha == 32  # the seed's LoRA defaults
    assert cfg.guard.abstain_text == "[No sufficient context]"
    assert cfg.run_dir == Path("runs/demo")


def test_misspelt_section_names_the_key_line_and_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "tunesmith.yaml"
    path.write_text(MINIMAL + "trian:\n  epochs: 2\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "'trian'" in message and "'train'" in message
    assert "tunesmith.yaml:5" in message  # the line of the bad key


def test_nested_misspelling_suggests_nested_key() -> None:
    text = MINIMAL + "model:\n  tiny:\n    layrs: 2\n"
    pattern = r"model\.tiny\.layrs.*did you mean 'model\.tiny\.layers'"
    with pytest.raises(ConfigError, match=pattern):
        parse_config(text, Path("t.yaml"))


def test_key_inside_a_list_item() -> None:
    text = "name: demo\ndata:\n  sources:\n    - {path: docs/, text_feild: body}\n"
    pattern = r"data\.sources\[0\]\.text_feild.*'data\.sources\[0\]\.text_field'"
    with pytest.raises(ConfigError, match=pattern):
        parse_config(text, Path("t.yaml"))


def test_bad_value_names_key_and_value() -> None:
    with pytest.raises(ConfigError, match=r"train\.learning_rate.*'fast'"):
        parse_config(MINIMAL + "train:\n  learning_rate: fast\n", Path("t.yaml"))


def test_cross_field_validator() -> None:
    with pytest.raises(ConfigError, match="divisible"):
        parse_config(MINIMAL + "model:\n  tiny: {hidden_size: 100, heads: 3}\n", Path("t.yaml"))


def test_missing_required_section() -> None:
    with pytest.raises(ConfigError, match="missing required key 'data'"):
        parse_config("name: demo\n", Path("t.yaml"))


def test_schema_version_is_checked() -> None:
    with pytest.raises(ConfigError, match="schema_version"):
        parse_config("schema_version: 9\n" + MINIMAL, Path("t.yaml"))


def test_invalid_yaml_reports_line() -> None:
    with pytest.raises(ConfigError, match="line 3, column 1: not valid YAML"):
        parse_config("name: demo\ndata:\n\tsources: []\n", Path("t.yaml"))


def test_dotted_overrides_parse_values() -> None:
    cfg = parse_config(MINIMAL, Path("t.yaml"),
                       ["train.learning_rate=1e-4", "method.target_modules=[q_proj,k_proj]"])
    assert cfg.train.learning_rate == pytest.approx(1e-4)
    assert cfg.method.target_modules == ["q_proj", "k_proj"]


def test_unknown_override_suggests() -> None:
    with pytest.raises(ConfigError, match="did you mean 'train.epochs'"):
        parse_config(MINIMAL, Path("t.yaml"), ["train.epoch=2"])


def test_relative_paths_resolve_against_config_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "tunesmith.yaml"
    path.parent.mkdir()
    path.write_text(MINIMAL)
    cfg = load_config(path)
    assert cfg.resolve("docs/") == (tmp_path / "sub" / "docs").resolve()


def test_starter_config_is_valid() -> None:
    text = resources.files("tunesmith.config").joinpath("starter.yaml").read_text("utf-8")
    cfg = parse_config(text, Path("tunesmith.yaml"))
    assert cfg.name == "my-run"


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(Path("/nonexistent/tunesmith.yaml"))


def test_docs_config_reference_is_current() -> None:
    from tunesmith.config.reference import render_reference

    docs = Path(__file__).resolve().parents[3] / "docs" / "config.md"
    assert docs.read_text(encoding="utf-8") == render_reference(), (
        "docs/config.md is stale: python -m tunesmith.config.reference > docs/config.md")
