"""Every model, imported here so that `Base.metadata` knows them all (Alembic autogenerate)."""

from app.models.refresh_token import RefreshToken
from app.models.user import User

__all__ = ["RefreshToken", "User"]
