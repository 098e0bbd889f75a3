"""Serve the pages with uvicorn on a socket bound first, so that a taken port is a one-line
error before anything loads, and port 0 (any free port) tells its real number."""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from tunesmith.errors import TunesmithError


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on ``host:port``; a taken port is a :class:`TunesmithError`."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise TunesmithError(f"cannot listen on {host}:{port}: {exc.strerror}; pass --port "
                             "with a free port (0: any)") from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def make_server(app: FastAPI, log_level: str = "warning") -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="off"))


def serve(app: FastAPI, sock: socket.socket, ready: Callable[[str], None],
          log_level: str = "warning") -> None:
    """Serve ``app`` on ``sock`` until interrupted; ``ready(url)`` is called first."""
    ready(url_of(sock))
    make_server(app, log_level).run(sockets=[sock])
