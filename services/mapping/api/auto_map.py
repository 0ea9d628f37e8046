"""Auto-mapping: every unmapped org whose best company is clear gets mapped to it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.mapping.api.deps import Caller, Runtime
from services.mapping.matching import scoring as matching
from services.mapping.matching import service
from services.mapping.resolution.service import MappingWork
from shared.catalog import CATALOG
from shared.problems import invalid

router = APIRouter(prefix="/v1", tags=["module orgs"])

Score = Annotated[float, Field(ge=0, le=1)]


class AutoMapIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_score: Score = matching.DEFAULT_MIN_SCORE
    margin: Score = matching.DEFAULT_MARGIN
    """How far the best company must lead the runner-up."""
    dry_run: bool = False
    module: str | None = Field(default=None, max_length=64)


class AutoMappingOut(BaseModel):
    module: str
    org_id: str
    org_name: str
    company_id: str
    company_name: str
    score: float
    evidence: str | None
    reresolved: int = 0


class AutoMapOut(BaseModel):
    dry_run: bool
    min_score: float
    margin: float
    considered: int
    mappings: list[AutoMappingOut]
    queued: bool = False
    """Whether the usage of the mapped orgs (``reresolved`` records each) was still being
    re-resolved in the background when the answer was sent, rather than done already."""


def _out(p: matching.Proposal, reresolved: int = 0) -> AutoMappingOut:
    s = p.suggestion
    return AutoMappingOut(
        module=p.module,
        org_id=p.org_id,
        org_name=p.org_name,
        company_id=s.company_id,
        company_name=s.name,
        score=s.score,
        evidence=s.evidence,
        reresolved=reresolved,
    )


@router.post("/module-orgs/auto-map", response_model=AutoMapOut)
async def auto_map(body: AutoMapIn, ctx: Caller, runtime: Runtime) -> AutoMapOut:
    """Maps unmapped orgs whose best company scores at least ``min_score`` and leads the
    runner-up by ``margin``; a dry run answers the same mappings and changes nothing."""
    if body.module is not None and CATALOG.module(body.module) is None:
        raise invalid(["body", "module"], f"unknown module {body.module!r}")
    ask = service.AutoMapAsk(body.min_score, body.margin, body.dry_run, body.module)
    done = await service.auto_map(MappingWork.of(runtime), ctx.tenant_id, ctx.key_id, ask)
    if done.changes is None:
        mappings = [_out(p) for p in done.proposals]
    else:
        mappings = [
            _out(p, c.reresolved) for p, c in zip(done.proposals, done.changes, strict=True)
        ]
    return AutoMapOut(
        dry_run=body.dry_run,
        min_score=body.min_score,
        margin=body.margin,
        considered=done.considered,
        mappings=mappings,
        queued=done.pending,
    )
