"""Safe loading, checked over the source: no pickle without ``weights_only=True``, no
``trust_remote_code=True`` written into the code (only the config may turn it on), and the
loaders of full models ask for safetensors."""

from __future__ import annotations

import ast
from pathlib import Path

import tunesmith

SRC = Path(tunesmith.__file__).resolve().parent


def _calls() -> list[tuple[Path, ast.Call]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found += [(path, node) for node in ast.walk(tree) if isinstance(node, ast.Call)]
    return found


def _name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        base = func.value.id if isinstance(func.value, ast.Name) else ""
        return f"{base}.{func.attr}" if base else func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _where(path: Path, call: ast.Call) -> str:
    return f"{path.relative_to(SRC.parent)}:{call.lineno}"


def test_the_scan_sees_the_package() -> None:
    names = {_name(c) for _, c in _calls()}
    assert "AutoModelForCausalLM.from_pretrained" in names  # the scan reads real calls


def test_torch_load_only_with_weights_only() -> None:
    unsafe = []
    for path, call in _calls():
        if _name(call) == "torch.load":
            flag = _keyword(call, "weights_only")
            if not (isinstance(flag, ast.Constant) and flag.value is True):
                unsafe.append(_where(path, call))
    assert not unsafe, f"torch.load without weights_only=True: {unsafe}"


def test_no_pickle_loads() -> None:
    loads = [_where(p, c) for p, c in _calls()
             if _name(c) in ("pickle.load", "pickle.loads", "dill.load", "joblib.load")]
    assert not loads


def test_trust_remote_code_is_never_hard_coded_on() -> None:
    on = [_where(p, c) for p, c in _calls()
          if isinstance(v := _keyword(c, "trust_remote_code"), ast.Constant) and v.value is True]
    assert not on, f"trust_remote_code=True hard-coded at {on}"


def test_full_models_load_from_safetensors() -> None:
    """Each ``Auto*.from_pretrained`` of weights asks for safetensors (a GGUF file is read by
    its own loader, and tokenizers and configs hold no weights)."""
    loose = []
    for path, call in _calls():
        name = _name(call)
        if not name.startswith("AutoModel") or not name.endswith(".from_pretrained"):
            continue
        if _keyword(call, "gguf_file") is not None:
            continue
        flag = _keyword(call, "use_safetensors")
        spread = any(k.arg is None for k in call.keywords)  # from_pretrained(source, **kwargs)
        if flag is None and spread and '"use_safetensors": True' in path.read_text("utf-8"):
            continue
        if not (isinstance(flag, ast.Constant) and flag.value is True):
            loose.append(_where(path, call))
    assert not loose, f"from_pretrained without use_safetensors=True: {loose}"
