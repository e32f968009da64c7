"""Passwords an attacker tries first: the most common ones, blank ones, the account's email."""

from functools import lru_cache
from pathlib import Path

# The 10,000 most common passwords, one a line; its header names the source and the licence.
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list, case-folded, read once per process."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.casefold() for line in lines if line and not line.startswith("#"))


def is_too_common(password: str, *, email: str | None = None) -> bool:
    """Whether `password` is blank, listed, or the email or its local part, in any letter case."""
    guess = password.strip().casefold()
    if not guess or guess in common_passwords():
        return True
    if email is None:
        return False
    address = email.casefold()
    return guess in {address, address.rpartition("@")[0]}
