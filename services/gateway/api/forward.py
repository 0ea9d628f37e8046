"""The authenticated catch-all: every other ``/v1`` request goes to the service that owns it."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.gateway.api.deps import Runtime, authorize
from services.gateway.proxy import read_body
from services.gateway.routes import GATEWAY, match, template_of
from shared.observability.http import name_route
from shared.problems import MethodNotAllowed, NotFound

router = APIRouter(include_in_schema=False)


@router.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def proxy(request: Request, rest: str, runtime: Runtime) -> Response:
    route, path_known = match(request.method, request.url.path)
    if route is None or route.service == GATEWAY:
        if path_known:
            raise MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}.")
        raise NotFound(f"No such endpoint: {request.method} {request.url.path}.")
    name_route(request, template_of(route))
    ctx = await authorize(request)
    body = await read_body(request, runtime.settings.max_body_bytes)
    upstreams = runtime.upstreams
    return await upstreams.forward(route.service, request, ctx, body)
