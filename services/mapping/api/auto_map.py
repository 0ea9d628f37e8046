"""Auto-mapping: every unmapped org whose best company is clear gets mapped to it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import ConfigDict, Field

from services.mapping.api.deps import Caller, Runtime
from services.mapping.matching import scoring as matching
from services.mapping.matching import service
from services.mapping.resolution.service import MappingWork
from shared.catalog import CATALOG
from shared.openapi_docs import ApiModel, examples
from shared.problems import invalid

router = APIRouter(prefix="/v1", tags=["module orgs"])

Score = Annotated[float, Field(ge=0, le=1)]


class AutoMapIn(ApiModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=examples({"min_score": 0.9, "dry_run": True}),
    )
    min_score: Score = matching.DEFAULT_MIN_SCORE
    """The score (0 to 1) the best company must reach."""
    margin: Score = matching.DEFAULT_MARGIN
    """How far the best company must lead the runner-up."""
    dry_run: bool = False
    """Answer the mappings it would make, and make none."""
    module: str | None = Field(default=None, max_length=64)
    """Only the orgs of this module; default: every module."""


class AutoMappingOut(ApiModel):
    module: str
    """The catalog id of the org's module."""
    org_id: str
    """The module's id of the org."""
    org_name: str
    """The org's name in the module."""
    company_id: str
    """The company the org is (or would be) mapped to."""
    company_name: str
    """That company's name."""
    score: float
    """How well the names match, 0 to 1."""
    evidence: str | None
    """The name of an org already mapped to the company that matched, if not its own."""
    reresolved: int = 0
    """The org's usage records re-resolved with the mapping (0 in a dry run)."""


class AutoMapOut(ApiModel):
    dry_run: bool
    """Whether nothing was changed."""
    min_score: float
    """The minimum score applied."""
    margin: float
    """The lead over the runner-up applied."""
    considered: int
    """Unmapped orgs looked at."""
    mappings: list[AutoMappingOut]
    """The mappings made (or, in a dry run, proposed)."""
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


@router.post(
    "/module-orgs/auto-map", response_model=AutoMapOut, summary="Map every clearly matching org"
)
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
