"""Data access: repositories add, flush and query; the request's `get_db` owns the transaction."""

from app.repositories.base import BaseRepository
from app.repositories.refresh_tokens import RefreshTokenRepository
from app.repositories.users import UserRepository

__all__ = ["BaseRepository", "RefreshTokenRepository", "UserRepository"]
