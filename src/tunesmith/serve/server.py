"""Run the app with uvicorn on a socket bound first, so a taken port is a one-line error."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

from tunesmith.config.serve import ServeConfig
from tunesmith.errors import TunesmithError
from tunesmith.serve.app import create_app
from tunesmith.serve.service import GuardService


def api_key_from_env(settings: ServeConfig) -> str | None:
    """The key in ``serve.api_key_env``'s variable; None (no authentication) if unset/empty."""
    if not settings.api_key_env:
        return None
    return os.environ.get(settings.api_key_env, "").strip() or None


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; a TunesmithError saying why it cannot be."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise TunesmithError(f"cannot listen on {host}:{port}: {exc.strerror or exc} "
                             "(serve.host / serve.port, or --host / --port)") from None
    sock.set_inheritable(True)
    return sock


def run_server(service: GuardService, host: str, port: int, api_key: str | None,
               on_ready: Callable[[str], None] | None = None,
               log_level: str = "info") -> None:
    """Serve until interrupted; ``on_ready(url)`` once the socket listens."""
    import uvicorn  # heavy and only needed here

    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    server = uvicorn.Server(uvicorn.Config(create_app(service, api_key), log_level=log_level,
                                           timeout_graceful_shutdown=5))
    if on_ready is not None:
        on_ready(f"http://{shown}:{bound_port}")
    server.run(sockets=[sock])
