"""The signed-in session: the API key, its role and a CSRF token, sealed (encrypted and
authenticated) into an HttpOnly, SameSite=Strict cookie. Sealed rather than stored, so any
gateway replica can read it; it expires after ``console_session_seconds``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass

from cryptography.fernet import Fernet, InvalidToken
from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "icb_console"
FLASH_COOKIE = "icb_console_flash"
SIGN_IN_COOKIE = "icb_console_signin"
PATH = "/console"
WRITERS = frozenset({"admin", "billing"})


@dataclass(frozen=True)
class Session:
    key: str
    key_id: str
    role: str
    csrf: str
    timezone: str = "UTC"

    @property
    def can_write(self) -> bool:
        return self.role in WRITERS

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def same_token(given: str, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


class Sealer:
    """Seals small JSON values for cookies, each kind under its own key derived from the
    gateway's secret."""

    def __init__(self, secret: str, max_age: int) -> None:
        def fernet(purpose: str) -> Fernet:
            digest = hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()
            return Fernet(base64.urlsafe_b64encode(digest))

        self._session = fernet("icb-console-session")
        self._flash = fernet("icb-console-flash")
        self.max_age = max_age

    def seal_session(self, session: Session) -> str:
        return self._session.encrypt(json.dumps(asdict(session)).encode()).decode()

    def open_session(self, token: str | None) -> Session | None:
        data = _open(self._session, token, self.max_age)
        fields = ("key", "key_id", "role", "csrf", "timezone")
        if data is None or not all(isinstance(data.get(f), str) for f in fields):
            return None
        return Session(*(str(data[f]) for f in fields))

    def seal_flash(self, flash: dict[str, object]) -> str:
        return self._flash.encrypt(json.dumps(flash).encode()).decode()

    def open_flash(self, token: str | None) -> dict[str, object] | None:
        return _open(self._flash, token, 600)


def _open(fernet: Fernet, token: str | None, ttl: int) -> dict[str, object] | None:
    if not token:
        return None
    try:
        data = json.loads(fernet.decrypt(token.encode(), ttl=ttl))
    except (InvalidToken, ValueError):
        return None
    return data if isinstance(data, dict) else None


def set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        name, path=PATH, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
