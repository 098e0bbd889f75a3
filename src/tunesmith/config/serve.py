"""``serve:`` the OpenAI-compatible server (``tunesmith serve``) that answers through the guard."""

from __future__ import annotations

from pydantic import Field

from tunesmith.config.base import Section


class ServeConfig(Section):
    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8000, ge=0, le=65535, description="Port to listen on (0: any free port).")
    model_id: str | None = Field(
        None, description="The model name /v1/models lists and requests must give; default: "
        "the run's name.")
    api_key_env: str | None = Field(
        "TUNESMITH_API_KEY",
        description="Environment variable holding the API key (never the key itself). When it "
        "is set and not empty, every /v1 request needs 'Authorization: Bearer <key>'; "
        "null: no key, whatever the environment holds.",
    )
    max_request_bytes: int = Field(
        262_144, ge=1024, description="Largest request body; a larger one gets 413.")
    max_tokens: int = Field(
        256, ge=1, description="Most new tokens a request may ask for (max_tokens); a request "
        "without max_tokens gets eval.max_new_tokens.")
    queue_size: int = Field(
        64, ge=1, description="Requests waiting for the model at most; one more gets 503 "
        "(retry later).")
    max_batch_size: int = Field(
        8, ge=1, description="Requests answered together in one generate call at most.")
    batch_wait_ms: float = Field(
        5.0, ge=0, le=1000, description="How long the first waiting request waits for others "
        "to join its batch (requests that queue while the model is busy join the next batch "
        "without waiting).")
