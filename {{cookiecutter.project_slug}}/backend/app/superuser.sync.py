"""Create a superuser: `make superuser email=ADDRESS` (`promote=1` to promote a user).

The password comes from SUPERUSER_PASSWORD or from a hidden prompt, never from the command line,
where other users of the machine could read it. An existing user is promoted only with
`--promote`, since anyone may have signed up with the address beforehand: promotion sets the
operator's password and ends every session of the account. An inactive superuser is
reactivated (and given SUPERUSER_PASSWORD when it is set). Running it again changes nothing.
"""

import getpass
import os
import sys

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from app.core.security import hash_password
from app.core.security_log import security_log
from app.db.session import get_engine, session_scope
from app.models.user import User
from app.repositories.users import UserRepository
from app.schemas.user import UserCreate

PASSWORD_VARIABLE = "SUPERUSER_PASSWORD"  # noqa: S105 - the variable name, not a secret
PROMOTE_OPTION = "--promote"
USAGE = f"usage: python -m app.superuser EMAIL [{PROMOTE_OPTION}]"


class CommandError(Exception):
    """What went wrong, in one line for the terminal."""


def valid_email(email: str) -> str:
    """`email`, checked as the API checks it."""
    try:
        return TypeAdapter(EmailStr).validate_python(email)
    except ValidationError as error:
        raise CommandError(f"{email!r} is not an email address") from error


def new_password() -> str:
    """The superuser's password, from the environment or typed without an echo."""
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


def set_new_password(users: UserRepository, user: User, email: str) -> None:
    """Give `user` the operator's password, held to the sign-up rules, and end its sessions."""
    account = new_account(email, new_password())
    hashed_password = hash_password(account.password)
    users.set_password_hash(user, hashed_password)
    users.end_sessions(user)


def ensure_superuser(users: UserRepository, email: str, *, promote: bool = False) -> str:
    """Create, reactivate or (with `promote`) promote the user with `email`; say what happened."""
    user = users.get_by_email(email)
    if user is None:
        account = new_account(email, new_password())
        hashed_password = hash_password(account.password)
        user = users.create(
            email=account.email,
            hashed_password=hashed_password,
            is_superuser=True,
            email_verified=True,
        )
        return f"created the superuser {user.email}"
    if user.is_superuser and user.is_active:
        return f"{user.email} is a superuser already"
    if user.is_superuser:
        users.update(user, {"is_active": True, "email_verified": True})
        if not os.environ.get(PASSWORD_VARIABLE):
            return f"reactivated the superuser {user.email}"
        set_new_password(users, user, email)
        return f"reactivated the superuser {user.email}, with the new password"
    if not promote:
        # Anyone may have signed up with the address first: never hand them the superuser.
        raise CommandError(
            f"{user.email} is an existing user, not a superuser: to promote it, with a new "
            f"password and its sessions ended, run again with {PROMOTE_OPTION} (make superuser "
            "email=... promote=1)"
        )
    set_new_password(users, user, email)
    users.update(user, {"is_superuser": True, "is_active": True, "email_verified": True})
    security_log.warning("User %s promoted to superuser", user.id)
    return f"{user.email} is now a superuser, with the new password; its sessions are ended"


def run(email: str, *, promote: bool = False) -> str:
    """`ensure_superuser` in a transaction of its own, on the application's database."""
    try:
        with session_scope(get_engine()) as session:
            return ensure_superuser(UserRepository(session), email, promote=promote)
    finally:
        # The command is done with the database: close the pooled connections.
        get_engine().dispose()


def main(argv: list[str]) -> int:
    """The command line: the email, then maybe `--promote`; exit 0, or 1 with one line."""
    promote = argv[1:] == [PROMOTE_OPTION]
    if len(argv) != 1 + promote or argv[0].startswith("-"):
        sys.stderr.write(USAGE + "\n")
        return 2
    try:
        message = run(valid_email(argv[0]), promote=promote)
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
