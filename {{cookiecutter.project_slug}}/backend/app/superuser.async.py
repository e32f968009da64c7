"""Create a superuser, or promote an existing user: `make superuser email=ADDRESS`.

The password of a new user comes from SUPERUSER_PASSWORD or from a hidden prompt, never from
the command line, where other users of the machine could read it. Running it again changes
nothing.
"""

import asyncio
import getpass
import os
import sys

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from app.core.security import hash_password, in_hashing_thread
from app.db.session import get_engine, session_scope
from app.repositories.users import UserRepository
from app.schemas.user import UserCreate

PASSWORD_VARIABLE = "SUPERUSER_PASSWORD"  # noqa: S105 - the variable name, not a secret


class CommandError(Exception):
    """What went wrong, in one line for the terminal."""


def valid_email(email: str) -> str:
    """`email`, checked as the API checks it."""
    try:
        return TypeAdapter(EmailStr).validate_python(email)
    except ValidationError as error:
        raise CommandError(f"{email!r} is not an email address") from error


def new_password() -> str:
    """The new superuser's password, from the environment or typed without an echo."""
    password = os.environ.get(PASSWORD_VARIABLE)
    if password:
        return password
    if not sys.stdin.isatty():
        raise CommandError(f"no password: set {PASSWORD_VARIABLE} or run this in a terminal")
    return getpass.getpass("Password for the new superuser: ")


def new_account(email: str, password: str) -> UserCreate:
    """The account's email and password, held to the sign-up rules."""
    try:
        return UserCreate(email=email, password=password)
    except ValidationError as error:
        problems = "; ".join(problem["msg"] for problem in error.errors(include_input=False))
        raise CommandError(problems) from error


async def ensure_superuser(users: UserRepository, email: str) -> str:
    """Promote the user with `email`, or create one as a superuser; say what happened."""
    user = await users.get_by_email(email)
    if user is not None:
        if user.is_superuser:
            return f"{user.email} is a superuser already"
        await users.set_superuser(user, is_superuser=True)
        return f"{user.email} is now a superuser"
    account = new_account(email, new_password())
    hashed_password = await in_hashing_thread(hash_password, account.password)
    user = await users.create(
        email=account.email, hashed_password=hashed_password, is_superuser=True
    )
    return f"created the superuser {user.email}"


async def run(email: str) -> str:
    """`ensure_superuser` in a transaction of its own, on the application's database."""
    try:
        async with session_scope(get_engine()) as session:
            return await ensure_superuser(UserRepository(session), email)
    finally:
        # The command is done with the database: close the pooled connections.
        await get_engine().dispose()


def main(argv: list[str]) -> int:
    """The command line: one argument, the email; exit 0 on success, 1 with one line if not."""
    if len(argv) != 1:
        sys.stderr.write("usage: python -m app.superuser EMAIL\n")
        return 2
    try:
        message = asyncio.run(run(valid_email(argv[0])))
    except CommandError as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    except SQLAlchemyError as error:
        sys.stderr.write(f"error: the database failed ({error.__class__.__name__})\n")
        return 1
    sys.stdout.write(message + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
