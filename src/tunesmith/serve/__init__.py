"""``tunesmith serve``: the run's guarded model behind an OpenAI-compatible HTTP API.

    from tunesmith.serve import GuardService, create_app
    service = GuardService.from_config(config)      # the Guard `tunesmith answer` uses
    app = create_app(service, api_key=None)         # FastAPI; run it with uvicorn

The top layer, beside the CLI: it imports the guard, the inference layer and the config, and
nothing imports it. See docs/serve.md.
"""

from __future__ import annotations

from tunesmith.serve.app import create_app
from tunesmith.serve.batching import Batcher, BatchStats, QueueFullError
from tunesmith.serve.server import api_key_from_env, bind, run_server
from tunesmith.serve.service import GuardService

__all__ = ["BatchStats", "Batcher", "GuardService", "QueueFullError", "api_key_from_env",
           "bind", "create_app", "run_server"]
