"""``serve:`` the OpenAI-compatible server (filled in by the serving work)."""

from __future__ import annotations

from pydantic import Field

from tunesmith.config.base import Section


class ServeConfig(Section):
    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8000, ge=1, le=65535)
