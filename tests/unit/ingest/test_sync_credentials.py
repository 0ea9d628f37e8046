"""Connection credentials are encrypted at rest with the configured Fernet keys."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from services.ingest.settings import IngestSettings
from services.ingest.sync.credentials import (
    CredentialCipher,
    CredentialsUnreadable,
    cipher_from_settings,
)


def test_round_trip_and_nothing_in_clear() -> None:
    cipher = CredentialCipher([Fernet.generate_key().decode()])
    sealed = cipher.seal({"token": "s3cr3t-token", "tenant": "acme"})
    assert "s3cr3t" not in sealed and "acme" not in sealed
    assert cipher.open(sealed) == {"token": "s3cr3t-token", "tenant": "acme"}


def test_rotation_new_key_first_old_key_still_reads() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_with_old = CredentialCipher([old]).seal({"token": "t"})
    rotated = CredentialCipher([new, old])
    assert rotated.open(sealed_with_old) == {"token": "t"}
    with pytest.raises(CredentialsUnreadable):
        CredentialCipher([old]).open(rotated.seal({"token": "t"}))


def test_wrong_key_or_tampering_is_unreadable() -> None:
    sealed = CredentialCipher([Fernet.generate_key().decode()]).seal({"token": "t"})
    with pytest.raises(CredentialsUnreadable):
        CredentialCipher([Fernet.generate_key().decode()]).open(sealed)
    with pytest.raises(CredentialsUnreadable):
        CredentialCipher([Fernet.generate_key().decode()]).open(sealed[:-4] + "AAAA")


def test_settings() -> None:
    key = Fernet.generate_key().decode()
    configured = cipher_from_settings(
        IngestSettings(environment="production", connection_key=key, internal_secret="x" * 32)
    )
    assert configured is not None
    assert CredentialCipher([key]).open(configured.seal({"a": "b"})) == {"a": "b"}
    # Production without a key stores no credentials; development has a stand-in key.
    assert (
        cipher_from_settings(IngestSettings(environment="production", internal_secret="x" * 32))
        is None
    )
    assert cipher_from_settings(IngestSettings(environment="development")) is not None
    with pytest.raises(ValueError, match="Fernet"):
        cipher_from_settings(IngestSettings(connection_key="not-a-key"))
