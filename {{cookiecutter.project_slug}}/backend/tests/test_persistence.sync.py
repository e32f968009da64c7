"""The repository layer against the real test database."""

import sys
import traceback
{% if cookiecutter.primary_key == "uuid" -%}
import uuid
{% endif -%}
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.errors import EmailAlreadyRegistered
from app.core.security import hash_password, verify_password
from app.models.user import User, normalize_email
from app.repositories.base import MAX_PAGE_SIZE
from app.repositories.users import UserRepository
from tests.factories import make_user, unique_email


def record_statement(statements: list[str]) -> Callable[..., None]:
    """A `before_cursor_execute` listener that appends each statement to `statements`."""

    def record(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    return record


def test_create_then_read_back(session: Session) -> None:
    users = UserRepository(session)
    created = users.create(email="Ada@Example.com", hashed_password=hash_password("secret-pass"))
    session.expunge_all()

    by_id = users.get_by_id(created.id)
    by_email = users.get_by_email("ADA@example.COM")

    assert by_id is not None
    assert by_id.email == "ada@example.com"
    assert by_id.is_active is True
    assert by_email is not None
    assert by_email.id == created.id
    assert verify_password("secret-pass", by_id.hashed_password)
    assert not verify_password("wrong-pass", by_id.hashed_password)


def test_timestamps_are_timezone_aware_utc(session: Session) -> None:
    user = make_user(session)
    session.expunge_all()

    reloaded = UserRepository(session).get_by_id(user.id)

    assert reloaded is not None
    assert reloaded.created_at.utcoffset() == UTC.utcoffset(None)
    assert reloaded.updated_at.tzinfo is not None


def test_an_aware_datetime_in_any_zone_reads_back_as_the_same_instant_in_utc(
    session: Session,
) -> None:
    user = make_user(session)
    at_plus_five = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5)))
    session.execute(update(User).where(User.id == user.id).values(created_at=at_plus_five))
    session.expunge_all()

    reloaded = UserRepository(session).get_by_id(user.id)

    assert reloaded is not None
    assert reloaded.created_at == at_plus_five
    assert reloaded.created_at.utcoffset() == UTC.utcoffset(None)


def test_unknown_id_and_email_give_none(session: Session) -> None:
    users = UserRepository(session)
    missing_id = {{ "uuid.uuid4()" if cookiecutter.primary_key == "uuid" else "2**62" }}

    assert users.get_by_id(missing_id) is None
    assert users.get_by_email("nobody@example.com") is None


def test_duplicate_email_in_any_case_is_rejected_and_the_session_stays_usable(
    session: Session,
) -> None:
    users = UserRepository(session)
    users.create(email="grace@example.com", hashed_password="x")

    with pytest.raises(EmailAlreadyRegistered):
        users.create(email="GRACE@example.com", hashed_password="y")

    assert users.get_by_email("grace@example.com") is not None
    assert users.create(email=unique_email(), hashed_password="z").id is not None


def test_a_database_error_never_shows_the_values_it_was_given(session: Session) -> None:
    """The engine hides parameters: an error's text, logged with its traceback, has no email."""
    taken = make_user(session)
    email = unique_email("hidden")

    with pytest.raises(IntegrityError) as caught:
        session.execute(insert(User).values(id=taken.id, email=email, hashed_password="x"))

    logged = "".join(traceback.format_exception(caught.value))
    assert "[SQL parameters hidden due to hide_parameters=True]" in logged
    assert email not in logged


def test_list_pages_in_id_order(session: Session) -> None:
    created = sorted((make_user(session) for _ in range(5)), key=lambda user: user.id)
    users = UserRepository(session)
    # Rewritten rows move to the end of a PostgreSQL table: an unordered scan now returns them
    # last, so a missing ORDER BY shows even where ids grow with insertion order.
    for user in created[:2]:
        users.update(user, {"is_active": False})
    statements: list[str] = []
    connection = session.connection()
    event.listen(connection, "before_cursor_execute", record_statement(statements))

    first_page = users.list(limit=2, offset=0)
    second_page = users.list(limit=2, offset=2)
    everything = users.list(limit=10)

    assert [user.id for user in first_page] == [user.id for user in created[:2]]
    assert [user.id for user in second_page] == [user.id for user in created[2:4]]
    assert len(everything) == 5
    # SQLite scans integer keys in id order whatever the query says: check the query too.
    assert all("ORDER BY users.id" in statement for statement in statements), statements


def test_list_caps_the_page_size(session: Session) -> None:
    for _ in range(MAX_PAGE_SIZE + 1):
        make_user(session)

    assert len(UserRepository(session).list(limit=MAX_PAGE_SIZE + 50)) == MAX_PAGE_SIZE


def test_list_rejects_negative_bounds(session: Session) -> None:
    with pytest.raises(ValueError, match="negative"):
        UserRepository(session).list(limit=-1)


def test_an_update_is_persisted_and_touches_updated_at(session: Session) -> None:
    users = UserRepository(session)
    user = make_user(session)
    before = user.updated_at

    users.update(user, {"is_active": False})
    session.expunge_all()
    reloaded = users.get_by_id(user.id)

    assert reloaded is not None
    assert reloaded.is_active is False
    assert reloaded.updated_at > before


def test_delete_removes_the_row_and_refresh_reloads_it(session: Session) -> None:
    users = UserRepository(session)
    kept = make_user(session)
    removed = make_user(session)
    session.execute(
        update(User).where(User.id == kept.id).values(is_active=False),
        execution_options={"synchronize_session": False},
    )

    users.delete(removed)
    refreshed = users.refresh(kept)

    assert users.get_by_id(removed.id) is None
    assert refreshed.is_active is False


def test_the_id_of_a_deleted_user_is_never_given_again(session: Session) -> None:
    """A deleted user's unexpired token names an id: it must never name the next user."""
    users = UserRepository(session)
    deleted = make_user(session)
    deleted_id = deleted.id
    users.delete(deleted)

    newcomer = make_user(session)

    assert newcomer.id != deleted_id


def test_the_email_check_accepts_every_normalised_character(session: Session) -> None:
    """The database's lower() leaves the normal form of every character as it is, so the
    CHECK on `users.email` never refuses what `normalize_email` stores."""
    # Every code point text can hold (NUL aside, which text cannot store in PostgreSQL).
    characters = (
        chr(code) for code in range(1, sys.maxunicode + 1) if not 0xD800 <= code <= 0xDFFF
    )
    normalised = "".join(normalize_email(character) for character in characters)

    assert session.scalar(select(func.lower(normalised) == normalised)) is True
