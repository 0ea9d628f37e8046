"""What every ingest endpoint depends on: the signed caller and the ingest runtime."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Depends

from services.ingest.runtime import IngestRuntime
from services.ingest.sync.schedule import zone
from shared.catalog import CATALOG
from shared.context import CallerContext
from shared.deps import Caller, Paging, runtime_dependency
from shared.problems import NotFound

__all__ = ["Caller", "Paging", "Runtime", "known_module", "tenant_today"]
Runtime = Annotated[IngestRuntime, Depends(runtime_dependency(IngestRuntime))]


def tenant_today(ctx: CallerContext) -> date:
    return datetime.now(zone(ctx.timezone)).date()


def known_module(module: str) -> str:
    if CATALOG.module(module) is None:
        raise NotFound(f"Unknown module {module!r}.")
    return module
