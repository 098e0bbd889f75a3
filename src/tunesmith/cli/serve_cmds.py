"""``tunesmith serve | export``: the tuned model behind an API, or out of tunesmith."""

from __future__ import annotations

from typing import Annotated

import typer

from tunesmith.cli.common import ConfigArg, SetOpt, app, console, guarded, load_run_config


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
