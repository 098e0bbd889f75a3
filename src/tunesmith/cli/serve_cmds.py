"""``tunesmith serve | export``: the tuned model behind an API, or out of tunesmith."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from tunesmith.cli.common import (
    ConfigArg,
    JsonOpt,
    SetOpt,
    app,
    console,
    err_console,
    guarded,
    load_run_config,
)


@app.command()
def serve(
    config: ConfigArg,
    set_: SetOpt = None,
    host: Annotated[str | None, typer.Option("--host", help="Address (default: serve.host).")]
    = None,
    port: Annotated[int | None, typer.Option(
        "--port", min=0, max=65535, help="Port (default: serve.port; 0: any free port).")]
    = None,
    log_level: Annotated[str, typer.Option(
        "--log-level", help="uvicorn's log level: critical, error, warning, info, debug.")]
    = "info",
) -> None:
    """An OpenAI-compatible server (POST /v1/chat/completions, GET /v1/models, GET /health)
    answering through the guard; see docs/serve.md."""
    # deferred: importing it loads fastapi, safetensors, starlette
    from tunesmith.serve import GuardService, api_key_from_env, bind, run_server

    cfg = load_run_config(config, set_)
    settings = cfg.serve
    where_host = host if host is not None else settings.host
    where_port = port if port is not None else settings.port
    guarded(lambda: bind(where_host, where_port).close())  # a taken port fails before loading
    key = api_key_from_env(settings)
    console.print(f"loading the guarded model of run '{cfg.name}' ...")
    service = guarded(lambda: GuardService.from_config(cfg))

    def ready(url: str) -> None:
        auth = (f"Bearer key from ${settings.api_key_env}" if key else
                f"no API key (set ${settings.api_key_env} to require one)"
                if settings.api_key_env else "no API key (serve.api_key_env is null)")
        console.print(f"serving '{service.model_id}' at {url}/v1 (gates: "
                      f"{', '.join(service.guard.gates)}; {auth}); Ctrl-C stops")

    guarded(lambda: run_server(service, where_host, where_port, key, ready, log_level))


@app.command("export")
def export(
    config: ConfigArg,
    fmt: Annotated[str, typer.Option(
        "--format", help="merged (a transformers folder with a model card) or gguf.")],
    quant: Annotated[str | None, typer.Option(
        "--quant", help="gguf: f16 (default), q8_0, or f32 (lossless).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Where to write (default: runs/<name>/export/).")] = None,
    verify: Annotated[bool, typer.Option(
        "--verify/--no-verify", help="gguf: load the file back with transformers and "
        "compare its tokenizer and logits with the merged model.")] = True,
    set_: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Merge the adapter into the base and write it out: --format merged (save_pretrained and
    a model card) or --format gguf (llama.cpp's format, tokenizer included); docs/export.md."""
    from tunesmith.export import export_model  # deferred: imports matplotlib, safetensors, torch

    cfg = load_run_config(config, set_)
    progress = err_console if as_json else console
    # with --json, stdout carries the JSON alone (a library's logger may print to stdout)
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        record = guarded(lambda: export_model(cfg, fmt, quant=quant, out=out, verify=verify,
                                              console=progress))
    if as_json:
        print(json.dumps(record, indent=2))
        return
    console.print(f"wrote {record['path']} ({record['format']}, method {record['method']})")
    check = record.get("verification")
    if check:
        console.print(f"  loads back through transformers (gguf_file=); tokenizer identical; "
                      f"logits vs the merged fp32 model: max |diff| "
                      f"{check['max_abs_logit_diff_vs_fp32']:.3g} (largest logit "
                      f"{check['max_abs_logit']:.3g}), same top token at "
                      f"{check['top1_agreement_vs_fp32']:.1%} of positions; vs the weights as "
                      f"written: {check['max_abs_logit_diff_vs_written_weights']:.3g}")
    for note in record.get("notes") or []:
        console.print(f"  note: {note}")
