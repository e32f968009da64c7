"""Data access: repositories add, flush and query; the request's `get_db` owns the transaction."""

from app.repositories.auth_sessions import AuthSessionRepository
from app.repositories.base import BaseRepository
from app.repositories.login_failures import LoginFailureRepository
from app.repositories.refresh_tokens import RefreshTokenRepository
from app.repositories.users import UserRepository

__all__ = [
    "AuthSessionRepository",
    "BaseRepository",
    "LoginFailureRepository",
    "RefreshTokenRepository",
    "UserRepository",
]
