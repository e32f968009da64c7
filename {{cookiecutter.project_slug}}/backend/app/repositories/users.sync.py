"""Queries and writes for `User`."""

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.core.errors import EmailAlreadyRegistered
from app.models.mixins import Id, utcnow
from app.models.refresh_token import RefreshToken
from app.models.user import User, normalize_email
from app.repositories.base import BaseRepository


class UserRepository(BaseRepository[User]):
    """Users by id or email; creation relies on the unique index, not on a prior lookup."""

    model = User

    def get_by_id(self, user_id: Id) -> User | None:
        """Return the user with this id, or None."""
        return self.get(user_id)

    def get_by_email(self, email: str) -> User | None:
        """Return the user with this email address (any letter case), or None."""
        statement = select(User).where(User.email == normalize_email(email))
        return self.session.scalars(statement).one_or_none()

    def create(
        self,
        *,
        email: str,
        hashed_password: str,
        is_active: bool = True,
        is_superuser: bool = False,
    ) -> User:
        """Insert a user; raise `EmailAlreadyRegistered` when the email is taken.

        The insert runs in a SAVEPOINT, so losing the race for an email leaves the session
        usable, and the unique index decides the race instead of a check-then-insert.
        """
        user = User(
            email=normalize_email(email),
            hashed_password=hashed_password,
            is_active=is_active,
            is_superuser=is_superuser,
        )
        try:
            with self.session.begin_nested():
                self.session.add(user)
        except IntegrityError as error:
            if self.get_by_email(email) is None:
                raise
            raise EmailAlreadyRegistered from error
        return user

    def set_active(self, user: User, *, is_active: bool) -> User:
        """Activate or deactivate `user`; deactivation also ends every session."""
        user.is_active = is_active
        if not is_active:
            self.end_sessions(user)
        self.session.flush()
        return user

    def end_sessions(self, user: User) -> None:
        """Log `user` out everywhere: revoke every refresh token still live."""
        self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )

    def set_superuser(self, user: User, *, is_superuser: bool) -> User:
        """Grant or withdraw every permission."""
        user.is_superuser = is_superuser
        self.session.flush()
        return user

    def set_password_hash(self, user: User, hashed_password: str) -> User:
        """Store a new hash of the user's password."""
        user.hashed_password = hashed_password
        self.session.flush()
        return user
