"""What the matrix does not show: QLoRA's base really is 4-bit, the pass-through reaches PEFT
tuners that have no name here, and method keys are checked like every other config key."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

from tunesmith.config import ConfigError, parse_config
from tunesmith.methods import METHODS, MergeNotSupportedError

MINIMAL = "name: demo\ndata:\n  sources:\n    - {path: docs/}\n"


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                         max_position_embeddings=64)
    path = tmp_path_factory.mktemp("base")
    LlamaForCausalLM(config).save_pretrained(path)
    return path


def test_qlora_quantises_the_base_to_4_bit_on_cpu(base_dir: Path) -> None:
    import bitsandbytes as bnb

    method = METHODS.get("qlora")()
    options = method.Options(quant_type="fp4", double_quant=False)
    kwargs = method.load_kwargs(options)
    assert kwargs["quantization_config"].bnb_4bit_quant_type == "fp4"
    model = method.prepare(AutoModelForCausalLM.from_pretrained(base_dir, **kwargs), options)
    quantised = [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert quantised, "no 4-bit layer: the base was not quantised"
    ids = torch.randint(0, 128, (1, 8))
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    grads = [p.grad for n, p in model.named_parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads)


@pytest.mark.parametrize(("peft_type", "kwargs", "mergeable"), [
    ("fourierft", {"n_frequency": 64, "target_modules": ["q_proj"]}, True),
    ("hra", {"r": 4, "target_modules": ["q_proj", "v_proj"]}, True),
    ("prompt_tuning", {"num_virtual_tokens": 4}, False),
])
def test_passthrough_reaches_any_peft_tuner(base_dir: Path, tmp_path: Path, peft_type: str,
                                            kwargs: dict[str, object], mergeable: bool) -> None:
    method = METHODS.get("peft")()
    options = method.Options(type=peft_type, kwargs=kwargs)
    model = method.prepare(AutoModelForCausalLM.from_pretrained(base_dir), options)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) > 0
    method.save(model, tmp_path)
    loaded = method.load(AutoModelForCausalLM.from_pretrained(base_dir), tmp_path)
    if mergeable:
        ids = torch.randint(0, 128, (1, 8))
        loaded.eval()
        with torch.no_grad():
            before = loaded(input_ids=ids).logits
            after = method.merge(loaded)(input_ids=ids).logits
        torch.testing.assert_close(after, before, rtol=0, atol=1e-5)
    else:
        with pytest.raises(MergeNotSupportedError, match="cannot be folded"):
            method.merge(loaded)


def test_method_keys_are_validated_with_file_line_and_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"t\.yaml:7: 'method\.rr'.*did you mean 'method\.r'"):
        parse_config(MINIMAL + "method:\n  name: lora\n  rr: 4\n", Path("t.yaml"))
    with pytest.raises(ConfigError, match=r"'method\.name'.*did you mean 'lora'"):
        parse_config(MINIMAL + "method:\n  name: lorra\n", Path("t.yaml"))
    with pytest.raises(ConfigError, match=r"t\.yaml:8: 'method\.kwargs\.n_freq'.*n_frequency"):
        parse_config(MINIMAL + "method:\n  name: peft\n  type: fourierft\n"
                     "  kwargs: {n_freq: 3}\n", Path("t.yaml"))
    with pytest.raises(ConfigError, match="not a PEFT tuner type; did you mean 'fourierft'"):
        parse_config(MINIMAL + "method:\n  name: peft\n  type: fouriert\n", Path("t.yaml"))


def test_method_keys_default_dump_and_override() -> None:
    cfg = parse_config(MINIMAL + "method:\n  name: adalora\n  init_r: 6\n", Path("t.yaml"),
                       ["method.target_r=3"])
    assert cfg.method.options.init_r == 6 and cfg.method.options.target_r == 3
    dumped = cfg.method.model_dump()
    assert dumped["name"] == "adalora" and dumped["tinit_ratio"] == 0.1  # defaults hashed too
    with pytest.raises(ConfigError, match="unknown key for method 'ia3'"):
        parse_config(MINIMAL, Path("t.yaml"), ["method.name=ia3", "method.r=3"])
