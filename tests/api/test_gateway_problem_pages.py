"""Every problem ``type`` URI the system answers with resolves, without an API key, to a page
that says what the problem means and what to do; a problem type without a page fails here."""

from __future__ import annotations

import html
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import httpx

import launcher
import services
import shared
import tools
from shared.problems import PROBLEM_TYPES, TYPE_BASE, Problem
from tests.conftest import EmbeddedApi

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("services", "shared", "launcher", "tools")
# Problem types named by hand in the code: a class's ``slug`` or a literal type URI.
HAND_MADE = re.compile(
    r"""slug(?:\s*,\s*title)?\s*=\s*(?:\d+\s*,\s*)?["']([a-z0-9-]+)["']"""
    r"""|["']/problems/([a-z0-9-]+)["']"""
)
TAG = re.compile(r"<[^>]+>")


def every_problem_class() -> Iterator[type[Problem]]:
    for package in (services, shared, launcher, tools):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if ".migrations" not in module.name:
                importlib.import_module(module.name)
    pending = [Problem]
    while pending:
        cls = pending.pop()
        yield cls
        pending.extend(cls.__subclasses__())


def hand_made_slugs() -> set[str]:
    found: set[str] = set()
    for source in SOURCES:
        for path in (ROOT / source).rglob("*.py"):
            for match in HAND_MADE.finditer(path.read_text()):
                found.add(match.group(1) or match.group(2))
    return found


def text_of(page: str) -> str:
    return " ".join(html.unescape(TAG.sub("", page)).split())


def plain(markdown: str) -> str:
    return " ".join(markdown.replace("`", "").split())


def test_every_problem_the_code_can_raise_or_name_is_registered() -> None:
    classes = list(every_problem_class())
    assert len(classes) > 15
    unregistered = {c.__qualname__: c.slug for c in classes if c.slug not in PROBLEM_TYPES}
    assert not unregistered
    named = hand_made_slugs()
    assert {"payment-exceeds-balance", "not-acceptable", "conflict"} <= named
    assert named <= PROBLEM_TYPES.keys(), named - PROBLEM_TYPES.keys()
    for cls in classes:
        kind = PROBLEM_TYPES[cls.slug]
        assert (cls.status, cls.title) == (kind.status, kind.title), cls


async def test_every_problem_type_resolves_to_its_page(embedded_api: EmbeddedApi) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=embedded_api.system.app), base_url="http://icb.test"
    ) as anonymous:
        for slug, kind in PROBLEM_TYPES.items():
            response = await anonymous.get(kind.uri)
            assert response.status_code == 200, slug
            assert response.headers["content-type"].startswith("text/html")
            text = text_of(response.text)
            for part in (kind.title, kind.uri, plain(kind.meaning), plain(kind.remedy)):
                assert part in text, (slug, part)
            assert str(kind.status or "the answer's own HTTP status") in text

        index = await anonymous.get(TYPE_BASE)
        assert index.status_code == 200
        for kind in PROBLEM_TYPES.values():
            assert f'href="{kind.uri}"' in index.text

        unknown = await anonymous.get(TYPE_BASE + "no-such-problem")
        assert unknown.status_code == 404
        assert unknown.json()["type"] == TYPE_BASE + "not-found"


async def test_the_type_of_an_answered_problem_resolves(embedded_api: EmbeddedApi) -> None:
    api = embedded_api.client
    answers = [
        await api.get("/v1/invoices/nope"),
        await api.post("/v1/billing-runs", json={"period": "2026-13"}),
        await api.get("/v1/companies", headers={"Authorization": "Bearer wrong"}),
    ]
    for answer in answers:
        uri = answer.json()["type"]
        page = await api.get(uri, headers={"Authorization": ""})
        assert page.status_code == 200, uri
        assert answer.json()["title"] in text_of(page.text)
