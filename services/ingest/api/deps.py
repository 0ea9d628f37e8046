"""What every ingest endpoint depends on: the signed caller and the service runtime."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Depends

from services.ingest.sync.schedule import zone
from shared.catalog import CATALOG
from shared.context import CallerContext
from shared.problems import NotFound
from shared.runtime import ServiceRuntime, caller, runtime_of

Caller = Annotated[CallerContext, Depends(caller)]
Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]


def tenant_today(ctx: CallerContext) -> date:
    return datetime.now(zone(ctx.timezone)).date()


def known_module(module: str) -> str:
    if CATALOG.module(module) is None:
        raise NotFound(f"Unknown module {module!r}.")
    return module
