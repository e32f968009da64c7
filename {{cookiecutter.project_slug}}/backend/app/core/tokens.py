"""Access tokens (signed JWTs) and refresh tokens (random, stored only as a hash)."""

import hashlib
import secrets
from datetime import datetime, timedelta

import jwt

from app.core.config import Settings
from app.core.errors import InvalidToken

ALGORITHM = "HS256"
# 32 random bytes: 256 bits, far beyond guessing.
REFRESH_TOKEN_BYTES = 32
# Longer than any token this service issues; anything longer is refused unread.
TOKEN_MAX_LENGTH = 2048


def create_access_token(subject: str, *, settings: Settings, now: datetime) -> str:
    """A JWT naming `subject` (the user id), signed with SECRET_KEY, valid for its lifetime."""
    claims = {
        "sub": subject,
        "iat": now,
        "exp": now + timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


def read_access_token(token: str, *, settings: Settings) -> str:
    """The subject of a valid access token; `InvalidToken` for anything else.

    The algorithm is pinned (`alg: none` and every other algorithm are refused), and the token
    may be signed with SECRET_KEY or with one of SECRET_KEY_PREVIOUS.
    """
    if len(token) > TOKEN_MAX_LENGTH:
        raise InvalidToken
    for key in settings.token_verification_keys:
        try:
            claims = jwt.decode(
                token, key, algorithms=[ALGORITHM], options={"require": ["exp", "iat", "sub"]}
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as error:
            raise InvalidToken from error
        return str(claims["sub"])
    raise InvalidToken


def new_refresh_token() -> str:
    """A fresh opaque refresh token, URL-safe."""
    return secrets.token_urlsafe(REFRESH_TOKEN_BYTES)


def hash_refresh_token(token: str) -> str:
    """What the database stores of a refresh token: its SHA-256, in hex.

    The token is random and long, so a plain hash is enough (no salt, no key): a stolen table
    gives nothing to log in with, and rotating SECRET_KEY logs nobody out.
    """
    return hashlib.sha256(token.encode()).hexdigest()
