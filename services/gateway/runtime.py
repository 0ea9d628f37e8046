"""The gateway's runtime: its database (keys, audit) and the parts every request goes
through. The gateway publishes and consumes no events: no bus, no outbox relay."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway.keys import KeyVerifier
from services.gateway.limits import AuthThrottle, RateLimiter
from services.gateway.openapi import OpenApiAggregator
from services.gateway.proxy import Upstreams
from services.gateway.settings import GatewaySettings
from shared.runtime import BaseRuntime

NAME = "gateway"


class GatewayRuntime(BaseRuntime):
    settings: GatewaySettings

    def __init__(
        self,
        settings: GatewaySettings,
        engine: AsyncEngine,
        upstreams: Upstreams,
        openapi: OpenApiAggregator,
    ) -> None:
        super().__init__(NAME, settings, engine)
        self.upstreams = upstreams
        self.openapi = openapi
        self.key_verifier = KeyVerifier()
        self.rate_limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        self.auth_throttle = AuthThrottle(
            settings.auth_failures_per_minute, settings.auth_failure_burst
        )

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        try:
            async with super().serving():
                yield
        finally:
            await self.upstreams.aclose()

    async def readiness(self) -> dict[str, bool]:
        """The database, and whether each service behind the gateway answers."""
        return {**await super().readiness(), **await self.upstreams.healthy()}
