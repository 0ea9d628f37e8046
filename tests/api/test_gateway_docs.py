"""The API documentation works without internet: Swagger UI and ReDoc load their scripts from
the gateway itself, in the embedded and in the full-stack mode, without an API key."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.gateway import app as gateway_app
from services.gateway import models
from services.gateway.routes import PUBLIC_PATHS
from services.gateway.settings import GatewaySettings
from shared.db import create_engine, sqlite_url
from tests.conftest import EmbeddedApi

ASSET_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
ASSET_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


async def assert_viewers_are_local(anonymous: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        response = await anonymous.get(page)
        assert response.status_code == 200, page
        assert response.headers["content-type"].startswith("text/html")
        assert "/openapi.json" in response.text
        assert "http://" not in response.text and "https://" not in response.text, page
        urls = ASSET_URL.findall(response.text)
        assert any(url.endswith(".js") for url in urls), (page, urls)
        for url in urls:
            assert url.startswith("/docs/assets/") and not url.startswith("//"), (page, url)
            asset = await anonymous.get(url)
            assert asset.status_code == 200, url
            kind = ASSET_TYPES[Path(url).suffix]
            assert kind in asset.headers["content-type"], (url, asset.headers["content-type"])
            assert len(asset.content) > 100, url
    assert (await anonymous.get("/docs/assets/nothing.js")).status_code == 404


async def test_docs_and_redoc_load_only_local_assets_in_the_embedded_mode(
    embedded_api: EmbeddedApi,
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=embedded_api.system.app), base_url="http://icb.test"
    ) as anonymous:
        await assert_viewers_are_local(anonymous)


@pytest.fixture
async def full_stack_gateway(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway as ``icb serve gateway`` builds it (its own HTTP clients to the services)."""
    settings = GatewaySettings(environment="test")
    engine = create_engine(sqlite_url(tmp_path, "gateway"), models.SCHEMA)
    runtime = gateway_app.build_runtime(settings, engine)
    app = gateway_app.create_app(runtime, manage_runtime=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://icb.test"
    ) as anonymous:
        yield anonymous
    for client in runtime.upstreams.clients.values():
        await client.aclose()
    await engine.dispose()


async def test_docs_and_redoc_load_only_local_assets_in_the_full_stack_mode(
    full_stack_gateway: httpx.AsyncClient,
) -> None:
    await assert_viewers_are_local(full_stack_gateway)


def test_public_paths_stay_outside_the_keyed_api() -> None:
    assert {"/docs", "/redoc", "/docs/assets/", "/problems/"} <= set(PUBLIC_PATHS)
    assert not any(path.startswith("/v1") for path in PUBLIC_PATHS)
