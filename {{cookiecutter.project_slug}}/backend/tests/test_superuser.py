"""`make superuser`: create, promote only when asked, reactivate; the password never on the
command line; idempotent."""

import io
import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from app import superuser
from app.core.security import hash_password, verify_password
from app.models.user import User
from app.repositories.users import UserRepository
from tests.conftest import InAppTransaction
from tests.factories import DEFAULT_PASSWORD, log_in, sign_up, unique_email

NEW_PASSWORD = "super-secret-99"


class Terminal(io.StringIO):
    """Standard input that is, or is not, a terminal."""

    def __init__(self, *, is_terminal: bool) -> None:
        super().__init__()
        self.is_terminal = is_terminal

    def isatty(self) -> bool:
        return self.is_terminal


def ensure(in_app_transaction: InAppTransaction, email: str, *, promote: bool = False) -> str:
    message: str = in_app_transaction(
        lambda session: superuser.ensure_superuser(UserRepository(session), email, promote=promote)
    )
    return message


def stored(in_app_transaction: InAppTransaction, email: str) -> User | None:
    user: User | None = in_app_transaction(
        lambda session: UserRepository(session).get_by_email(email)
    )
    return user


@pytest.fixture
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(superuser.PASSWORD_VARIABLE, raising=False)
    monkeypatch.setattr("sys.stdin", Terminal(is_terminal=False))


def test_a_new_superuser_takes_the_password_from_the_environment(
    in_app_transaction: InAppTransaction, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(superuser.PASSWORD_VARIABLE, NEW_PASSWORD)
    email = unique_email("root")

    first = ensure(in_app_transaction, email)
    again = ensure(in_app_transaction, email)

    user = stored(in_app_transaction, email)
    assert first == f"created the superuser {email}"
    assert again == f"{email} is a superuser already"
    assert user is not None
    assert user.is_superuser
    assert user.email_verified
    assert verify_password(NEW_PASSWORD, user.hashed_password)


@pytest.mark.usefixtures("no_terminal")
def test_an_existing_user_is_not_promoted_without_promote(
    in_app_transaction: InAppTransaction,
) -> None:
    """Anyone may have signed up with the address first: promoting takes an explicit option."""
    email = unique_email()
    in_app_transaction(
        lambda session: UserRepository(session).create(
            email=email, hashed_password=hash_password(DEFAULT_PASSWORD)
        )
    )

    with pytest.raises(superuser.CommandError) as caught:
        ensure(in_app_transaction, email.upper())

    user = stored(in_app_transaction, email)
    assert str(caught.value) == (
        f"{email} is an existing user, not a superuser: to promote it, with a new password and "
        "its sessions ended, run again with --promote (make superuser email=... promote=1)"
    )
    assert user is not None
    assert not user.is_superuser
    assert verify_password(DEFAULT_PASSWORD, user.hashed_password)


def test_promote_sets_the_new_password_and_ends_every_session(
    client: TestClient,
    in_app_transaction: InAppTransaction,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(superuser.PASSWORD_VARIABLE, NEW_PASSWORD)
    signed_up = sign_up(client).json()
    email = signed_up["email"]
    sessions = [log_in(client, email).json()["refresh_token"] for _ in range(2)]

    with caplog.at_level(logging.WARNING, logger="app.security"):
        message = ensure(in_app_transaction, email, promote=True)

    events = [record.getMessage() for record in caplog.records if record.name == "app.security"]
    assert events == [f"User {signed_up['id']} promoted to superuser"]

    user = stored(in_app_transaction, email)
    assert message == f"{email} is now a superuser, with the new password; its sessions are ended"
    assert user is not None
    assert user.is_superuser
    assert user.is_active
    assert user.email_verified
    assert verify_password(NEW_PASSWORD, user.hashed_password)
    assert not verify_password(DEFAULT_PASSWORD, user.hashed_password)
    for refresh_token in sessions:
        response = client.post("/auth/refresh", json={"refresh_token": refresh_token})
        assert response.status_code == 401
    assert ensure(in_app_transaction, email, promote=True) == f"{email} is a superuser already"


@pytest.mark.usefixtures("no_terminal")
def test_promote_without_a_password_changes_nothing(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    email = sign_up(client).json()["email"]

    with pytest.raises(superuser.CommandError, match="no password"):
        ensure(in_app_transaction, email, promote=True)

    user = stored(in_app_transaction, email)
    assert user is not None
    assert not user.is_superuser


def test_promote_holds_the_password_to_the_sign_up_rules(
    client: TestClient, in_app_transaction: InAppTransaction, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = sign_up(client).json()["email"]
    monkeypatch.setenv(superuser.PASSWORD_VARIABLE, "password")

    with pytest.raises(superuser.CommandError, match="too easy to guess"):
        ensure(in_app_transaction, email, promote=True)


@pytest.mark.usefixtures("no_terminal")
def test_an_inactive_superuser_is_reactivated_and_keeps_the_password(
    in_app_transaction: InAppTransaction,
) -> None:
    email = unique_email("root")
    in_app_transaction(
        lambda session: UserRepository(session).create(
            email=email,
            hashed_password=hash_password(DEFAULT_PASSWORD),
            is_active=False,
            is_superuser=True,
        )
    )

    message = ensure(in_app_transaction, email)

    user = stored(in_app_transaction, email)
    assert message == f"reactivated the superuser {email}"
    assert user is not None
    assert user.is_active
    assert verify_password(DEFAULT_PASSWORD, user.hashed_password)


def test_an_inactive_superuser_is_reactivated_with_the_password_given(
    in_app_transaction: InAppTransaction, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(superuser.PASSWORD_VARIABLE, NEW_PASSWORD)
    email = unique_email("root")
    in_app_transaction(
        lambda session: UserRepository(session).create(
            email=email,
            hashed_password=hash_password(DEFAULT_PASSWORD),
            is_active=False,
            is_superuser=True,
        )
    )

    message = ensure(in_app_transaction, email)

    user = stored(in_app_transaction, email)
    assert message == f"reactivated the superuser {email}, with the new password"
    assert user is not None
    assert user.is_active
    assert verify_password(NEW_PASSWORD, user.hashed_password)


def test_without_the_variable_the_password_is_asked_for_hidden(
    in_app_transaction: InAppTransaction, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(superuser.PASSWORD_VARIABLE, raising=False)
    monkeypatch.setattr("sys.stdin", Terminal(is_terminal=True))
    prompts: list[str] = []

    def getpass(prompt: str) -> str:
        prompts.append(prompt)
        return NEW_PASSWORD

    monkeypatch.setattr("getpass.getpass", getpass)
    email = unique_email("root")

    ensure(in_app_transaction, email)

    user = stored(in_app_transaction, email)
    assert prompts == ["Password for the new superuser: "]
    assert user is not None
    assert verify_password(NEW_PASSWORD, user.hashed_password)


@pytest.mark.usefixtures("no_terminal")
def test_without_a_password_or_a_terminal_nothing_is_created(
    in_app_transaction: InAppTransaction,
) -> None:
    email = unique_email("root")

    with pytest.raises(superuser.CommandError) as caught:
        ensure(in_app_transaction, email)

    assert str(caught.value) == "no password: set SUPERUSER_PASSWORD or run this in a terminal"
    assert stored(in_app_transaction, email) is None


@pytest.mark.parametrize(
    ("failure", "line"),
    [
        (superuser.CommandError("no password"), "error: no password\n"),
        (
            OperationalError("SELECT users.email ...", {"email": "a@example.com"}, Exception()),
            "error: the database failed (OperationalError)\n",
        ),
    ],
)
def test_a_failing_command_ends_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    failure: Exception,
    line: str,
) -> None:
    """(`make superuser` itself runs against a served project in the template's tests.)"""

    def run(_email: str, **_options: bool) -> str:
        raise failure

    monkeypatch.setattr(superuser, "run", run)

    assert superuser.main(["a@example.com"]) == 1
    assert capsys.readouterr() == ("", line)


@pytest.mark.parametrize(
    ("argv", "status", "error"),
    [
        ([], 2, "usage: python -m app.superuser EMAIL [--promote]\n"),
        (["--promote"], 2, "usage: python -m app.superuser EMAIL [--promote]\n"),
        (["a@example.com", "--force"], 2, "usage: python -m app.superuser EMAIL [--promote]\n"),
        (["not-an-email"], 1, "error: 'not-an-email' is not an email address\n"),
    ],
)
def test_bad_arguments_get_one_line(
    argv: list[str], status: int, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert superuser.main(argv) == status
    assert capsys.readouterr().err == error


def test_a_short_password_is_refused(
    in_app_transaction: InAppTransaction, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(superuser.PASSWORD_VARIABLE, "short")

    with pytest.raises(superuser.CommandError, match="at least 8 characters"):
        ensure(in_app_transaction, unique_email("root"))


@pytest.mark.parametrize(
    ("argv", "promote"), [(["a@example.com"], False), (["a@example.com", "--promote"], True)]
)
def test_promote_is_passed_on_only_when_given(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], promote: bool
) -> None:
    calls: list[tuple[str, bool]] = []

    def run(email: str, *, promote: bool) -> str:
        calls.append((email, promote))
        raise superuser.CommandError("stop here")

    monkeypatch.setattr(superuser, "run", run)

    assert superuser.main(argv) == 1
    assert calls == [("a@example.com", promote)]
