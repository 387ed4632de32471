"""Secrets at rest: Fernet encryption (MultiFernet for key rotation) and keyed digests for API keys."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from summarybot.errors import SummaryBotError


class DecryptionFailed(SummaryBotError):
    code = "decryption_failed"
    http_status = 500


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        # Never include the token: it is the secret's ciphertext and says nothing useful.
        raise DecryptionFailed(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY (was the key rotated without keeping the old one?)"
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt with the first key; run after prepending a new key to FIELD_ENCRYPTION_KEY."""
    try:
        return _current().rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionFailed("A stored secret cannot be decrypted with any key of FIELD_ENCRYPTION_KEY") from None


def is_current(token: str) -> bool:
    """Whether the first (encrypting) key opens this token, i.e. rotating it would change nothing."""
    try:
        Fernet(settings.FIELD_ENCRYPTION_KEYS[0].encode()).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def keyed_digest(value: str) -> str:
    """HMAC-SHA256 with a server-side pepper: fast to check, useless to an attacker holding only the database."""
    return hmac.new(settings.API_KEY_PEPPER.encode(), value.encode(), hashlib.sha256).hexdigest()
