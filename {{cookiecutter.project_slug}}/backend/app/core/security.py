"""Password hashing with Argon2id (pwdlib)."""

from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.core.config import get_settings


@lru_cache
def _password_hash() -> PasswordHash:
    settings = get_settings()
    return PasswordHash(
        (
            Argon2Hasher(
                time_cost=settings.ARGON2_TIME_COST,
                memory_cost=settings.ARGON2_MEMORY_COST_KIB,
                parallelism=settings.ARGON2_PARALLELISM,
            ),
        )
    )


def hash_password(password: str) -> str:
    """Return an Argon2id hash of `password`, salted, in PHC string format."""
    return _password_hash().hash(password)


def verify_password(password: str, hashed_password: str) -> bool:
    """Tell whether `password` matches `hashed_password`."""
    return _password_hash().verify(password, hashed_password)
