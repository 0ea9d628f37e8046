"""Which webhook targets are refused: loopback, private, link-local and reserved addresses,
names that resolve to them (checked on every address), and the address actually connected
to (DNS rebinding)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence

import httpcore
import pytest
from pydantic import ValidationError

from services.invoicing.settings import InvoicingSettings
from services.invoicing.webhooks.sender import GuardedBackend, Sender
from services.invoicing.webhooks.targets import TargetRefused, check_address, check_target

REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "::1",
    "fe80::1",
    "fc00::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address: str) -> None:
    with pytest.raises(TargetRefused):
        check_address(address, allow_private=False)
    assert str(check_address(address, allow_private=True))


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert str(check_address(address, allow_private=False)) == address


def _resolver(answers: dict[str, Sequence[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> Sequence[str]:
        if host not in answers:
            raise socket.gaierror("no such name")
        return answers[host]

    return resolve


async def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    resolver = _resolver(
        {
            "books.example": ["93.184.215.14"],
            "internal.example": ["10.20.30.40"],
            "mixed.example": ["93.184.215.14", "127.0.0.1"],
            "metadata.example": ["169.254.169.254"],
        }
    )
    assert await check_target("https://books.example/hook", False, resolver) == ["93.184.215.14"]
    for host in ("internal.example", "mixed.example", "metadata.example"):
        with pytest.raises(TargetRefused):
            await check_target(f"https://{host}/hook", False, resolver)
    assert await check_target("https://internal.example/hook", True, resolver) == ["10.20.30.40"]


async def test_urls_that_are_not_plain_http_targets_are_refused() -> None:
    resolver = _resolver({"books.example": ["93.184.215.14"]})
    for url in (
        "ftp://books.example/x",
        "https://user:pass@books.example/x",
        "https:///x",
        "https://books.example:70000/x",
        "https://nowhere.example/x",
        "http://localhost:8080/x",
        "http://printer.local/x",
        "http://[::1]/x",
        "http://2130706433/x",
    ):
        with pytest.raises(TargetRefused):
            await check_target(url, False, resolver)


async def test_the_connected_address_is_checked_again() -> None:
    """A name that passed when the endpoint was made but now reaches a loopback listener
    (what DNS rebinding does) is refused on the connection, before any byte is sent."""
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.read(100))
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        backend = GuardedBackend(allow_private=False)
        with pytest.raises(TargetRefused):
            await backend.connect_tcp("localhost", port, timeout=5)
        outcome = await Sender(allow_private=False, timeout=5).send(
            f"http://localhost:{port}/hook", {"webhook-id": "x"}, "{}"
        )
        assert outcome.status is None
        assert outcome.error is not None and outcome.error.startswith("refused")
        allowed = await GuardedBackend(allow_private=True).connect_tcp("127.0.0.1", port)
        await allowed.aclose()
        assert isinstance(allowed, httpcore.AsyncNetworkStream)
    finally:
        server.close()
        await server.wait_closed()
    assert all(data == b"" for data in received)  # connections closed before a byte


def test_production_refuses_private_webhook_targets() -> None:
    secret = "a-real-secret-of-production"
    assert not InvoicingSettings(
        environment="production", internal_secret=secret
    ).webhook_allow_private
    with pytest.raises(ValidationError, match="ICB_WEBHOOK_ALLOW_PRIVATE"):
        InvoicingSettings(
            environment="production", internal_secret=secret, webhook_allow_private=True
        )
    assert InvoicingSettings(environment="test", webhook_allow_private=True).webhook_allow_private
