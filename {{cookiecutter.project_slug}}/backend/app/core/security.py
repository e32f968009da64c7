"""Password hashing with Argon2id (pwdlib), a bounded number at a time."""

import threading
{%- if cookiecutter.sqlalchemy_mode == "async" %}
from collections.abc import Callable
{%- endif %}
from functools import lru_cache
{%- if cookiecutter.sqlalchemy_mode == "async" %}
from typing import TypeVar, TypeVarTuple
{%- endif %}

{% if cookiecutter.sqlalchemy_mode == "async" -%}
import anyio
{% endif -%}
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.core.config import get_settings
{%- if cookiecutter.sqlalchemy_mode == "async" %}

T = TypeVar("T")
Args = TypeVarTuple("Args")
{%- endif %}

# What an unknown email is verified against, so that it takes as long as a wrong password.
_DUMMY_PASSWORD = "dummy password that matches no account"  # noqa: S105 - not a secret


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


@lru_cache
def _new_hashing_slots() -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(get_settings().password_hash_concurrency)


# lru_cache alone may build two semaphores when two threads ask first at the same moment,
# which would double the bound.
_HASHING_SLOTS_LOCK = threading.Lock()


def _hashing_slots() -> threading.BoundedSemaphore:
    """Each Argon2 operation holds ARGON2_MEMORY_COST_KIB: only so many run at once."""
    with _HASHING_SLOTS_LOCK:
        return _new_hashing_slots()


def hash_password(password: str) -> str:
    """Return an Argon2id hash of `password`, salted, in PHC string format."""
    with _hashing_slots():
        return _password_hash().hash(password)


def verify_password(password: str, hashed_password: str) -> bool:
    """Tell whether `password` matches `hashed_password`."""
    with _hashing_slots():
        return _password_hash().verify(password, hashed_password)


def verify_and_update_password(password: str, hashed_password: str) -> tuple[bool, str | None]:
    """Verify `password`; on a match, also a new hash when the stored one's cost is outdated."""
    with _hashing_slots():
        return _password_hash().verify_and_update(password, hashed_password)


@lru_cache
def _dummy_hash() -> str:
    return hash_password(_DUMMY_PASSWORD)


def verify_dummy_password(password: str) -> None:
    """Spend the time of one verification, for a login whose email matches no account."""
    verify_password(password, _dummy_hash())
{%- if cookiecutter.sqlalchemy_mode == "async" %}


@lru_cache
def _hashing_threads() -> anyio.CapacityLimiter:
    # As many threads as hashing slots: no thread ever waits for a slot.
    return anyio.CapacityLimiter(get_settings().password_hash_concurrency)


async def in_hashing_thread(function: Callable[[*Args], T], *args: *Args) -> T:
    """Run an Argon2 operation in a worker thread, so the event loop keeps serving requests."""
    return await anyio.to_thread.run_sync(function, *args, limiter=_hashing_threads())
{%- endif %}
