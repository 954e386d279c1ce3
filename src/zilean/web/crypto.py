"""Secrets at rest: Discord tokens encrypted under a key derived from SECRET_KEY; cookie values hashed."""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger(__name__)

# Fixed, public context for HKDF: it only separates this key from any other use of SECRET_KEY.
_SALT = b"groovy-zilean/web"
_INFO = b"discord-oauth-tokens/v1"


def digest(value: str) -> str:
    """SHA-256 hex of a high-entropy secret (session ids, OAuth state): what the database stores."""
    return hashlib.sha256(value.encode()).hexdigest()


def random_token(bits: int = 128) -> str:
    """A URL-safe random string with at least `bits` bits of entropy."""
    return secrets.token_urlsafe((bits + 7) // 8)


class TokenCipher:
    """Authenticated encryption (Fernet: AES-128-CBC + HMAC-SHA256) with a key derived by HKDF."""

    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    @classmethod
    def from_secret_key(cls, secret_key: str | None) -> TokenCipher:
        """The cipher for SECRET_KEY; without one (development only) a random key for this process."""
        if not secret_key:
            log.warning(
                "SECRET_KEY is not set: Discord tokens are encrypted with a key that lasts only until this "
                "process stops (fine for development; production refuses to start without SECRET_KEY)"
            )
            secret_key = secrets.token_urlsafe(48)
        return cls(secret_key)

    def encrypt(self, text: str) -> str:
        """The ciphertext of `text`, as ASCII."""
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def decrypt(self, token: str | None) -> str | None:
        """The plaintext, or None when there is none or it was made under another key (logged)."""
        if not token:
            return None
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            log.warning("a stored Discord token cannot be decrypted (SECRET_KEY changed?); it is ignored")
            return None
