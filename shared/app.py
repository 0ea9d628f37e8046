"""The FastAPI shell every service shares: problems, request ids, health and lifespan."""

from __future__ import annotations

import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from shared.changes import H_CHANGES, collecting, encode
from shared.context import H_REQUEST_ID, H_TENANT
from shared.observability import http as observability
from shared.observability import tracing
from shared.observability.context import request_id_var, tenant_id_var
from shared.problems import install_problem_handlers
from shared.runtime import BaseRuntime

access_log = logging.getLogger("icb.access")
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# A caller's request id is kept only if it is short and plain: it goes into logs and the audit.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:=+/-]{1,64}")


def create_service_app(
    title: str,
    runtime: BaseRuntime,
    routers: Sequence[APIRouter],
    *,
    manage_runtime: bool,
    openapi_url: str | None = "/openapi.json",
) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not manage_runtime:
            yield
            return
        async with runtime.serving():
            yield

    app = FastAPI(title=title, lifespan=lifespan, openapi_url=openapi_url)
    app.state.runtime = runtime
    install_problem_handlers(app)

    @app.middleware("http")
    async def request_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        given = request.headers.get(H_REQUEST_ID, "")
        rid = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        tenant_token = tenant_id_var.set(request.headers.get(H_TENANT, "-"))
        started = time.perf_counter()
        try:
            with collecting() as changes:
                response = await call_next(request)
            if changes and response.status_code < 400:  # a failed write rolled them back
                response.headers[H_CHANGES] = encode(changes)
            if request.url.path not in QUIET_PATHS:  # one line per request, under its id
                if tenant := observability.bound_tenant(request):
                    tenant_id_var.set(tenant)
                observability.observe(
                    runtime.name, request, response.status_code, time.perf_counter() - started
                )
                access_log.info(
                    "%s %s -> %s in %.1f ms",
                    request.method,
                    request.url.path,
                    response.status_code,
                    (time.perf_counter() - started) * 1000,
                )
        finally:
            tenant_id_var.reset(tenant_token)
            request_id_var.reset(token)
        response.headers[H_REQUEST_ID] = rid
        return response

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": runtime.name}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        checks = await runtime.readiness()
        ok = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
        )

    observability.install(app)
    tracing.instrument_engine(runtime.engine)
    for router in routers:
        app.include_router(router)
    return app
