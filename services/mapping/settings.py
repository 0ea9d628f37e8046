"""Mapping's options: how long a mapping change waits for its re-resolution."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class MappingSettings(ServiceSettings):
    # A mapping change answers once its queued re-resolution is done, or after this wait
    # (then with ``queued: true``; the job goes on in the background).
    reresolution_wait_seconds: float = Field(default=5.0, ge=0)
