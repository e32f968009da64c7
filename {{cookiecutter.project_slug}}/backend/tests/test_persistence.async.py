"""The repository layer against the real test database."""

import sys
import traceback
{% if cookiecutter.primary_key == "uuid" -%}
import uuid
{% endif -%}
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import anyio
import pytest
from sqlalchemy import event, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.errors import EmailAlreadyRegistered
from app.core.security import hash_password, verify_password
from app.db.session import session_scope
from app.models.user import User, normalize_email
from app.repositories.base import MAX_PAGE_SIZE
from app.repositories.users import UserRepository
from tests.factories import make_user, unique_email

pytestmark = pytest.mark.anyio


def record_statement(statements: list[str]) -> Callable[..., None]:
    """A `before_cursor_execute` listener that appends each statement to `statements`."""

    def record(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    return record


async def test_create_then_read_back(session: AsyncSession) -> None:
    users = UserRepository(session)
    created = await users.create(
        email="Ada@Example.com", hashed_password=hash_password("secret-pass")
    )
    session.expunge_all()

    by_id = await users.get_by_id(created.id)
    by_email = await users.get_by_email("ADA@example.COM")

    assert by_id is not None
    assert by_id.email == "ada@example.com"
    assert by_id.is_active is True
    assert by_email is not None
    assert by_email.id == created.id
    assert verify_password("secret-pass", by_id.hashed_password)
    assert not verify_password("wrong-pass", by_id.hashed_password)


async def test_timestamps_are_timezone_aware_utc(session: AsyncSession) -> None:
    user = await make_user(session)
    session.expunge_all()

    reloaded = await UserRepository(session).get_by_id(user.id)

    assert reloaded is not None
    assert reloaded.created_at.utcoffset() == UTC.utcoffset(None)
    assert reloaded.updated_at.tzinfo is not None


async def test_an_aware_datetime_in_any_zone_reads_back_as_the_same_instant_in_utc(
    session: AsyncSession,
) -> None:
    user = await make_user(session)
    at_plus_five = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5)))
    await session.execute(update(User).where(User.id == user.id).values(created_at=at_plus_five))
    session.expunge_all()

    reloaded = await UserRepository(session).get_by_id(user.id)

    assert reloaded is not None
    assert reloaded.created_at == at_plus_five
    assert reloaded.created_at.utcoffset() == UTC.utcoffset(None)


async def test_unknown_id_and_email_give_none(session: AsyncSession) -> None:
    users = UserRepository(session)
    missing_id = {{ "uuid.uuid4()" if cookiecutter.primary_key == "uuid" else "2**62" }}

    assert await users.get_by_id(missing_id) is None
    assert await users.get_by_email("nobody@example.com") is None


async def test_duplicate_email_in_any_case_is_rejected_and_the_session_stays_usable(
    session: AsyncSession,
) -> None:
    users = UserRepository(session)
    await users.create(email="grace@example.com", hashed_password="x")

    with pytest.raises(EmailAlreadyRegistered):
        await users.create(email="GRACE@example.com", hashed_password="y")

    assert await users.get_by_email("grace@example.com") is not None
    assert (await users.create(email=unique_email(), hashed_password="z")).id is not None


async def test_a_database_error_never_shows_the_values_it_was_given(session: AsyncSession) -> None:
    """The engine hides parameters: an error's text, logged with its traceback, has no email."""
    taken = await make_user(session)
    email = unique_email("hidden")

    with pytest.raises(IntegrityError) as caught:
        await session.execute(insert(User).values(id=taken.id, email=email, hashed_password="x"))

    logged = "".join(traceback.format_exception(caught.value))
    assert "[SQL parameters hidden due to hide_parameters=True]" in logged
    assert email not in logged


async def test_list_pages_in_id_order(session: AsyncSession) -> None:
    created = sorted([await make_user(session) for _ in range(5)], key=lambda user: user.id)
    users = UserRepository(session)
    # Rewritten rows move to the end of a PostgreSQL table: an unordered scan now returns them
    # last, so a missing ORDER BY shows even where ids grow with insertion order.
    for user in created[:2]:
        await users.update(user, {"is_active": False})
    statements: list[str] = []
    connection = (await session.connection()).sync_connection
    event.listen(connection, "before_cursor_execute", record_statement(statements))

    first_page = await users.list(limit=2, offset=0)
    second_page = await users.list(limit=2, offset=2)
    everything = await users.list(limit=10)

    assert [user.id for user in first_page] == [user.id for user in created[:2]]
    assert [user.id for user in second_page] == [user.id for user in created[2:4]]
    assert len(everything) == 5
    # SQLite scans integer keys in id order whatever the query says: check the query too.
    assert all("ORDER BY users.id" in statement for statement in statements), statements


async def test_list_caps_the_page_size(session: AsyncSession) -> None:
    for _ in range(MAX_PAGE_SIZE + 1):
        await make_user(session)

    assert len(await UserRepository(session).list(limit=MAX_PAGE_SIZE + 50)) == MAX_PAGE_SIZE


async def test_list_rejects_negative_bounds(session: AsyncSession) -> None:
    with pytest.raises(ValueError, match="negative"):
        await UserRepository(session).list(limit=-1)


async def test_an_update_is_persisted_and_touches_updated_at(session: AsyncSession) -> None:
    users = UserRepository(session)
    user = await make_user(session)
    before = user.updated_at

    await users.update(user, {"is_active": False})
    session.expunge_all()
    reloaded = await users.get_by_id(user.id)

    assert reloaded is not None
    assert reloaded.is_active is False
    assert reloaded.updated_at > before


async def driver_connection(session: AsyncSession) -> object:
    """The driver's connection under the session's transaction."""
    connection = await session.connection()
    return (await connection.get_raw_connection()).driver_connection


async def test_a_cancelled_request_gives_its_connection_back_intact(engine: AsyncEngine) -> None:
    with anyio.CancelScope() as scope:
        async with session_scope(engine) as session:
            await session.execute(text("SELECT 1"))
            used = await driver_connection(session)
            scope.cancel()
            await anyio.sleep(1)  # cancelled here, as when a client disconnects
    async with session_scope(engine) as session:
        reused = await driver_connection(session)
    await engine.dispose()

    assert scope.cancelled_caught
    # Rolled back and returned to the pool, not closed halfway through its rollback.
    assert reused is used


async def test_delete_removes_the_row_and_refresh_reloads_it(session: AsyncSession) -> None:
    users = UserRepository(session)
    kept = await make_user(session)
    removed = await make_user(session)
    await session.execute(
        update(User).where(User.id == kept.id).values(is_active=False),
        execution_options={"synchronize_session": False},
    )

    await users.delete(removed)
    refreshed = await users.refresh(kept)

    assert await users.get_by_id(removed.id) is None
    assert refreshed.is_active is False


async def test_the_id_of_a_deleted_user_is_never_given_again(session: AsyncSession) -> None:
    """A deleted user's unexpired token names an id: it must never name the next user."""
    users = UserRepository(session)
    deleted = await make_user(session)
    deleted_id = deleted.id
    await users.delete(deleted)

    newcomer = await make_user(session)

    assert newcomer.id != deleted_id


async def test_the_email_check_accepts_every_normalised_character(session: AsyncSession) -> None:
    """The database's lower() leaves the normal form of every character as it is, so the
    CHECK on `users.email` never refuses what `normalize_email` stores."""
    # Every code point text can hold (NUL aside, which text cannot store in PostgreSQL).
    characters = (
        chr(code) for code in range(1, sys.maxunicode + 1) if not 0xD800 <= code <= 0xDFFF
    )
    normalised = "".join(normalize_email(character) for character in characters)

    assert await session.scalar(select(func.lower(normalised) == normalised)) is True
