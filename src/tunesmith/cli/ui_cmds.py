"""``tunesmith ui``: the web pages (Review, Runs, Ask) for one config's run."""

from __future__ import annotations

from typing import Annotated

import typer

from tunesmith.cli.common import ConfigArg, SetOpt, app, console, guarded, load_run_config


@app.command()
def ui(
    config: ConfigArg,
    set_: SetOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535,
                                      help="Port (0: any free port).")] = 8080,
    log_level: Annotated[str, typer.Option(
        "--log-level", help="uvicorn's log level: critical, error, warning, info, debug.")]
    = "warning",
) -> None:
    """Web pages: review a round's Q&A records (accept, reject, edit; keyboard shortcuts),
    browse runs (metrics, plots, report, compare) and ask a guarded question; see docs/ui.md."""
    # deferred: importing these loads fastapi, matplotlib, starlette
    from tunesmith.ui import create_app
    from tunesmith.ui.server import bind, serve

    cfg = load_run_config(config, set_)
    sock = guarded(lambda: bind(host, port))  # a taken port fails before anything loads
    pages = create_app(cfg)

    def ready(url: str) -> None:
        console.print(f"tunesmith ui for run '{cfg.name}' at {url}/ (Review, Runs, Ask); "
                      "Ctrl-C stops")

    serve(pages, sock, ready, log_level)
