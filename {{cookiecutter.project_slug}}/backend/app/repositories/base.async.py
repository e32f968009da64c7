"""A thin generic repository over one model."""

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import Base

ModelT = TypeVar("ModelT", bound=Base)

# Upper bound of one page, so a client cannot ask for the whole table at once.
MAX_PAGE_SIZE = 100


class BaseRepository(Generic[ModelT]):
    """Add, delete, refresh and page through one model. Never commits: `get_db` does."""

    model: type[ModelT]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, primary_key: Any) -> ModelT | None:
        """Return the row with this primary key, or None."""
        return await self.session.get(self.model, primary_key)

    async def add(self, instance: ModelT) -> ModelT:
        """Stage `instance` and flush, so database errors surface here, inside the request."""
        self.session.add(instance)
        await self.session.flush()
        return instance

    async def delete(self, instance: ModelT) -> None:
        """Delete `instance` and flush."""
        await self.session.delete(instance)
        await self.session.flush()

    async def refresh(self, instance: ModelT) -> ModelT:
        """Reload `instance` from the database."""
        await self.session.refresh(instance)
        return instance

    async def list(self, *, limit: int = 50, offset: int = 0) -> Sequence[ModelT]:
        """One page of rows in primary-key order; `limit` is capped at `MAX_PAGE_SIZE`."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        mapper = self.model.__mapper__
        statement = (
            select(self.model)
            .order_by(*mapper.primary_key)
            .limit(min(limit, MAX_PAGE_SIZE))
            .offset(offset)
        )
        return (await self.session.scalars(statement)).all()
