"""Which webhook targets may be called: never loopback, private, link-local or otherwise
non-public addresses (the service would otherwise be a door into its own network), unless
``ICB_WEBHOOK_ALLOW_PRIVATE=true`` (tests, never production).

A URL is checked when the endpoint is created (its host resolved) and again at every
delivery, on the address actually connected to: a name that resolved to a public address at
creation and to ``127.0.0.1`` later (DNS rebinding) is refused then.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    """The URL or the address it resolves to may not be called."""


async def resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)
    return address.is_global and not address.is_multicast


def check_address(address: str, allow_private: bool) -> IpAddress:
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError as exc:
        raise TargetRefused(f"{address!r} is not an IP address") from exc
    if not allow_private and not is_public(parsed):
        raise TargetRefused(
            f"{parsed} is a loopback, private, link-local or reserved address; webhooks go "
            "to public addresses only"
        )
    return parsed


def split_url(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of an http(s) URL without credentials."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("the URL must start with https:// or http://")
    if not parts.hostname:
        raise TargetRefused("the URL has no host")
    if parts.username or parts.password:
        raise TargetRefused("the URL may not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused("the URL's port is not a number from 1 to 65535") from exc
    return parts.scheme, parts.hostname, port


async def check_target(url: str, allow_private: bool, resolver: Resolver = resolve) -> list[str]:
    """The addresses ``url``'s host resolves to, all of them allowed; else ``TargetRefused``."""
    _scheme, host, port = split_url(url)
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        check_address(str(literal), allow_private)
        return [str(literal)]
    if not allow_private and (host == "localhost" or host.endswith((".localhost", ".local"))):
        raise TargetRefused(f"{host} names this machine or the local network")
    try:
        addresses = await resolver(host, port)
    except OSError as exc:
        raise TargetRefused(f"{host} does not resolve: {exc}") from exc
    if not addresses:
        raise TargetRefused(f"{host} does not resolve")
    for address in addresses:
        check_address(address, allow_private)
    return list(addresses)
