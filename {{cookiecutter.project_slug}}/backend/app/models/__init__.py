"""Every model, imported here so that `Base.metadata` knows them all (Alembic autogenerate)."""

from app.models.account_token import AccountToken
from app.models.auth_session import AuthSession
from app.models.login_failure import LoginFailure
from app.models.refresh_token import RefreshToken
from app.models.user import User

__all__ = ["AccountToken", "AuthSession", "LoginFailure", "RefreshToken", "User"]
