"""The simulator's HTTP API (see the package docstring for its shape)."""

from __future__ import annotations

import hmac
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response

from shared.catalog import CATALOG
from tools.simulator.state import ANY_MODULE, SimulatorState


def _state(request: Request) -> SimulatorState:
    state: SimulatorState = request.app.state.simulator
    return state


State = Annotated[SimulatorState, Depends(_state)]


def _authorized(state: State, authorization: Annotated[str, Header()] = "") -> None:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), state.token.encode()):
        raise HTTPException(
            401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )


Authorized = Depends(_authorized)


def _known(module: str) -> str:
    if module != ANY_MODULE and CATALOG.module(module) is None:
        raise HTTPException(404, f"unknown module {module!r}")
    return module


def create_app(state: SimulatorState) -> FastAPI:
    app = FastAPI(title="ICB module simulator", description=__doc__)
    app.state.simulator = state

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/modules")
    async def modules() -> list[dict[str, str]]:
        return [
            {"module": m.id, "name": m.name, "base_url": f"/{m.id}/v1"} for m in CATALOG.modules
        ]

    @app.get("/{module}/v1/usage", dependencies=[Authorized])
    async def usage(
        module: str,
        state: State,
        date_: Annotated[date, Query(alias="date")],
        page: Annotated[int, Query(ge=1)] = 1,
    ) -> dict[str, Any]:
        """One page of the module's daily counts of ``date``."""
        _known(module)
        state.requests += 1
        if state.fails(module, date_, page):
            raise HTTPException(500, f"simulated failure of {module} on {date_}")
        items = state.items(module, date_)
        size = state.page_size
        pages = max(1, -(-len(items) // size))
        return {
            "module": module,
            "date": date_.isoformat(),
            "page": page,
            "pages": pages,
            "page_size": size,
            "total": len(items),
            "next_page": page + 1 if page < pages else None,
            "items": items[(page - 1) * size : page * size],
        }

    @app.put("/_control/failures/{module}/{day}", status_code=204, dependencies=[Authorized])
    async def fail(
        module: str,
        day: date,
        state: State,
        times: Annotated[int | None, Query(ge=1)] = None,
        from_page: Annotated[int, Query(ge=1)] = 1,
    ) -> Response:
        """Makes the day answer 500 (``times`` more requests, or until healed)."""
        state.fail(_known(module), day, times, from_page)
        return Response(status_code=204)

    @app.delete("/_control/failures/{module}/{day}", status_code=204, dependencies=[Authorized])
    async def heal(module: str, day: date, state: State) -> Response:
        state.heal(_known(module), day)
        return Response(status_code=204)

    @app.delete("/_control/failures", status_code=204, dependencies=[Authorized])
    async def heal_all(state: State) -> Response:
        state.heal()
        return Response(status_code=204)

    return app
