"""Module connection credentials, encrypted at rest with Fernet keys from the settings.

``ICB_CONNECTION_KEY`` holds one or more Fernet keys separated by commas: the first encrypts,
all decrypt, so a key is rotated by putting the new one first. Without it, development and
test use a fixed development key; production stores no credentials at all.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from services.ingest.settings import IngestSettings

_DEVELOPMENT_KEY = base64.urlsafe_b64encode(
    hashlib.sha256(b"icb development-only connection key").digest()
).decode()


class CredentialsUnreadable(ValueError):
    """The ciphertext was made with a key that is no longer configured, or was altered."""


class CredentialCipher:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is needed")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError as exc:
            raise ValueError(
                "ICB_CONNECTION_KEY must be Fernet keys (32 url-safe base64-encoded bytes), "
                "separated by commas"
            ) from exc

    def seal(self, credentials: Mapping[str, str]) -> str:
        plain = json.dumps(dict(credentials), sort_keys=True).encode()
        return self._fernet.encrypt(plain).decode()

    def open(self, token: str) -> dict[str, str]:
        try:
            plain = self._fernet.decrypt(token.encode())
        except InvalidToken as exc:
            raise CredentialsUnreadable("the stored credentials cannot be decrypted") from exc
        data = json.loads(plain)
        return {str(k): str(v) for k, v in data.items()}


def cipher_from_settings(settings: IngestSettings) -> CredentialCipher | None:
    """The configured cipher; None in production without a key (connections are refused)."""
    if settings.connection_key:
        return CredentialCipher(
            [k.strip() for k in settings.connection_key.split(",") if k.strip()]
        )
    if settings.environment == "production":
        return None
    return CredentialCipher([_DEVELOPMENT_KEY])
