"""The whole public API described in one document, and Swagger UI on it."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from services.gateway.api.deps import Runtime

router = APIRouter(include_in_schema=False)


@router.get("/openapi.json")
async def openapi_document(runtime: Runtime) -> Response:
    aggregator = runtime.openapi
    return Response(await aggregator.document(), media_type="application/json")


@router.get("/docs")
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Integrated Customer Billing")
