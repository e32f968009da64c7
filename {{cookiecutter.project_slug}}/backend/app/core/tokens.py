"""Access tokens (signed JWTs) and refresh tokens (random, stored only as a hash)."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt

from app.core.config import Settings
from app.core.errors import InvalidToken

ALGORITHM = "HS256"
# Refresh tokens and emailed tokens: 32 random bytes, 256 bits, far beyond guessing.
OPAQUE_TOKEN_BYTES = 32
# Longer than any token this service issues; anything longer is refused unread.
TOKEN_MAX_LENGTH = 2048
# How far the clocks of the issuer and of a verifier may disagree.
CLOCK_SKEW = timedelta(seconds=30)
REQUIRED_CLAIMS = ["aud", "auth_time", "exp", "iat", "iss", "sid", "sub"]
# A client sends the same access token with every request for its lifetime, and verifying it
# (the signature, the claims, their JSON) is about a tenth of an authenticated read's CPU. Tokens
# that verified are kept, by their text and what they were verified against, up to
# VERIFIED_TOKENS of them (a few MiB); one that fails raises and is never kept, so a stranger
# cannot fill the cache. Only the expiry changes with time: `read_access_token` checks it on
# every use.
VERIFIED_TOKENS = 4096


@dataclass(frozen=True)
class AccessClaims:
    """What a valid access token says: who, in which session, since when."""

    subject: str
    session_id: uuid.UUID
    auth_time: datetime


@dataclass(frozen=True)
class Verification:
    """What a token is verified against: the settings that `_verify`'s results depend on."""

    keys: tuple[str, ...]
    audience: str
    issuer: str
    max_lifetime_seconds: float


def create_access_token(
    subject: str, *, session_id: uuid.UUID, auth_time: datetime, settings: Settings, now: datetime
) -> str:
    """A JWT naming `subject` (the user id) and its session, valid for its lifetime."""
    claims = {
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "sub": subject,
        "sid": str(session_id),
        "auth_time": int(auth_time.timestamp()),
        "iat": now,
        "exp": now + timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


def read_access_token(token: str, *, settings: Settings) -> AccessClaims:
    """The claims of a valid access token; `InvalidToken` for anything else.

    The algorithm is pinned (`alg: none` and every other algorithm are refused), the issuer and
    audience must be this service's, and the token may be signed with SECRET_KEY or with one of
    SECRET_KEY_PREVIOUS. A token that claims a longer life than this service gives is forged
    with a leaked key or by a misconfigured issuer: refused too. The expiry is checked on every
    call; the rest is checked once per token (`_verify`).
    """
    if len(token) > TOKEN_MAX_LENGTH:
        raise InvalidToken
    verification = Verification(
        keys=settings.token_verification_keys,
        audience=settings.JWT_AUDIENCE,
        issuer=settings.JWT_ISSUER,
        max_lifetime_seconds=settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60,
    )
    claims, expires_at = _verify(token, verification)
    if _now() >= expires_at + CLOCK_SKEW.total_seconds():
        raise InvalidToken
    return claims


def _now() -> float:
    return datetime.now(UTC).timestamp()


@lru_cache(maxsize=VERIFIED_TOKENS)
def _verify(token: str, verification: Verification) -> tuple[AccessClaims, float]:
    """The claims of a token that verifies, but for its expiry, and when it expires."""
    for key in verification.keys:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=verification.audience,
                issuer=verification.issuer,
                leeway=CLOCK_SKEW,
                options={"require": REQUIRED_CLAIMS, "verify_exp": False},
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as error:
            raise InvalidToken from error
        return _access_claims(claims, verification), _number(claims, "exp")
    raise InvalidToken


def _access_claims(claims: dict[str, Any], verification: Verification) -> AccessClaims:
    lifetime = _number(claims, "exp") - _number(claims, "iat")
    if lifetime > verification.max_lifetime_seconds:
        raise InvalidToken
    try:
        session_id = uuid.UUID(str(claims["sid"]))
        auth_time = datetime.fromtimestamp(_number(claims, "auth_time"), UTC)
    except (ValueError, OverflowError, OSError) as error:
        raise InvalidToken from error
    return AccessClaims(str(claims["sub"]), session_id, auth_time)


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken
    return float(value)


def new_refresh_token() -> str:
    """A fresh opaque refresh token, URL-safe."""
    return secrets.token_urlsafe(OPAQUE_TOKEN_BYTES)


def new_email_token() -> str:
    """A fresh single-use token for an emailed link (password reset, verification), URL-safe."""
    return secrets.token_urlsafe(OPAQUE_TOKEN_BYTES)


def hash_token(token: str) -> str:
    """What the database stores of an opaque token (refresh or emailed): its SHA-256, in hex.

    The token is random and long, so a plain hash is enough (no salt, no key): a stolen table
    gives nothing to log in with, and rotating SECRET_KEY logs nobody out.
    """
    return hashlib.sha256(token.encode()).hexdigest()
