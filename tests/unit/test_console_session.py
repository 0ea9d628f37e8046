"""The console's sealed cookies: what is sealed opens again, nothing else does, and a
session ends after its lifetime."""

from __future__ import annotations

import json
import time

from services.console.session import Sealer, Session, same_token

SECRET = "a-secret-for-the-tests-only"


def session() -> Session:
    return Session(
        key="icb_k_secret", key_id="k", role="billing", csrf="token", timezone="Europe/Berlin"
    )


def test_a_sealed_session_opens_and_hides_the_key() -> None:
    sealer = Sealer(SECRET, 3600)
    sealed = sealer.seal_session(session())
    assert "icb_k_secret" not in sealed
    assert sealer.open_session(sealed) == session()
    assert session().can_write and not session().is_admin


def test_a_session_expires_after_its_lifetime() -> None:
    sealer = Sealer(SECRET, 60)
    old = sealer._session.encrypt_at_time(  # sealed 61 seconds ago
        json.dumps(session().__dict__).encode(), int(time.time()) - 61
    )
    assert sealer.open_session(old.decode()) is None
    fresh = sealer._session.encrypt_at_time(
        json.dumps(session().__dict__).encode(), int(time.time()) - 50
    )
    assert sealer.open_session(fresh.decode()) == session()


def test_tampered_foreign_or_malformed_cookies_do_not_open() -> None:
    sealer = Sealer(SECRET, 3600)
    sealed = sealer.seal_session(session())
    assert sealer.open_session(sealed[:-4] + "AAAA") is None
    assert Sealer("another-secret", 3600).open_session(sealed) is None
    assert sealer.open_session(None) is None
    assert sealer.open_session("not a token") is None
    # A flash message is sealed under another key: it never passes for a session.
    assert sealer.open_session(sealer.seal_flash({"key": "x"})) is None
    incomplete = sealer._session.encrypt(json.dumps({"key": "x", "role": "admin"}).encode())
    assert sealer.open_session(incomplete.decode()) is None


def test_tokens_compare_only_when_equal_and_not_empty() -> None:
    assert same_token("abc", "abc")
    assert not same_token("abc", "abd")
    assert not same_token("", "")
