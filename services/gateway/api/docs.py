"""The whole public API described in one document; Swagger UI and ReDoc on it, and the page
behind each problem type. All public (outside ``/v1``), and all from this installation:
the viewers' scripts come from the installed ``fastapi-offline`` package, never a CDN, so
the documentation works without internet."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from services.gateway import problem_pages
from services.gateway.api.deps import Runtime
from services.gateway.routes import (
    ASYNCAPI_PATH,
    DOCS_ASSETS_PATH,
    DOCS_PATH,
    OPENAPI_PATH,
    PROBLEMS_PATH,
    REDOC_PATH,
)
from shared.event_contract import asyncapi_document
from shared.problems import PROBLEM_TYPES, NotFound

TITLE = "Integrated Customer Billing"

router = APIRouter(include_in_schema=False)
# The browser itself refuses anything from elsewhere (ReDoc's bundle links its logo on a CDN;
# Swagger UI would ask an online validator), so the pages stay offline whatever they load.
VIEWER_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)


def assets_directory() -> Path:
    """Swagger UI's and ReDoc's files as the ``fastapi-offline`` distribution installs them."""
    return Path(str(resources.files("fastapi_offline") / "static"))


def mount_assets(app: FastAPI) -> None:
    app.mount(DOCS_ASSETS_PATH, StaticFiles(directory=assets_directory()), name="docs-assets")


@router.get(OPENAPI_PATH)
async def openapi_document(runtime: Runtime) -> Response:
    aggregator = runtime.openapi
    return Response(await aggregator.document(), media_type="application/json")


@router.get(ASYNCAPI_PATH)
async def asyncapi(runtime: Runtime) -> JSONResponse:
    """The public events (Kafka topics and webhook bodies) as an AsyncAPI 3 document."""
    return JSONResponse(asyncapi_document(runtime.settings.topic_prefix))


def _offline(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = VIEWER_POLICY
    return page


@router.get(DOCS_PATH)
async def docs() -> HTMLResponse:
    return _offline(
        get_swagger_ui_html(
            openapi_url=OPENAPI_PATH,
            title=TITLE,
            swagger_js_url=f"{DOCS_ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS_PATH}/favicon.png",
            oauth2_redirect_url=None,
            swagger_ui_parameters={"validatorUrl": None},
        )
    )


@router.get(REDOC_PATH)
async def redoc() -> HTMLResponse:
    return _offline(
        get_redoc_html(
            openapi_url=OPENAPI_PATH,
            title=TITLE,
            redoc_js_url=f"{DOCS_ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )
    )


@router.get(PROBLEMS_PATH)
async def problem_types() -> HTMLResponse:
    return HTMLResponse(problem_pages.index_page())


@router.get(PROBLEMS_PATH + "{slug}")
async def problem_type(slug: str) -> HTMLResponse:
    kind = PROBLEM_TYPES.get(slug)
    if kind is None:
        raise NotFound(f"No problem type {slug!r}; {PROBLEMS_PATH} lists them all.")
    return HTMLResponse(problem_pages.type_page(kind))
