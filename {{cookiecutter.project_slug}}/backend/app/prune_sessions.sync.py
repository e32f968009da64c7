"""Delete what logins leave behind: `make prune-sessions` (from cron, or a scheduled job).

Ended sessions (expired, or not refreshed in time), with their refresh tokens, login failure
counters whose window is over, and emailed tokens that expired. Logins and emails prune the
same for their own user as they go; this command sweeps everyone's. Running it again deletes
nothing more.
"""

import sys
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from app.core.config import get_settings
from app.db.session import get_engine, session_scope
from app.models.mixins import utcnow
from app.repositories.account_tokens import AccountTokenRepository
from app.repositories.auth_sessions import AuthSessionRepository
from app.repositories.login_failures import LoginFailureRepository


def run() -> str:
    """Prune in one transaction; say how much went."""
    now = utcnow()
    window = timedelta(minutes=get_settings().LOGIN_FAILURE_WINDOW_MINUTES)
    try:
        with session_scope(get_engine()) as session:
            sessions = AuthSessionRepository(session).prune(now=now)
            counters = LoginFailureRepository(session).prune(now=now, window=window)
            account_tokens = AccountTokenRepository(session).prune(now=now)
    finally:
        # The command is done with the database: close the pooled connections.
        get_engine().dispose()
    return (
        f"deleted {sessions} ended sessions, {counters} expired login failure counters and "
        f"{account_tokens} expired emailed tokens"
    )


def main() -> int:
    """The command line: exit 0 on success, 1 with one line if the database fails."""
    try:
        message = run()
    except SQLAlchemyError as error:
        sys.stderr.write(f"error: the database failed ({error.__class__.__name__})\n")
        return 1
    sys.stdout.write(message + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
