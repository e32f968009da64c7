"""The tutorial-style app, sync mode: what a user writes from FastAPI's documentation.

"OAuth2 with Password (and hashing), Bearer with JWT tokens" and "SQL (Relational) Databases",
put together on the project's `users` table: an `OAuth2PasswordBearer` scheme, PyJWT's
`jwt.decode`, a `get_session` dependency yielding a SQLAlchemy `Session` (`create_engine` with
the psycopg driver and the project's pool: `pool_size=10, max_overflow=0`),
`session.get(User, id)`, and `response_model=UserPublic`. Plain `def` endpoints and
dependencies, as the SQL tutorial writes them: FastAPI runs them in its thread pool.

It decodes the token a login to the baked project gives (the same key, issuer and audience; `sub`
is the user id) and reads a copy of the project's database. The benchmark compares the project's
`GET /users/me` with this app's (issue 16). The async twin is tutorial_app_async.py.

Served by `bench/run.py` as:

    TUTORIAL_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_tutorial_sync \
    BENCH_JWT_KEY=... BENCH_JWT_ISSUER=my_service BENCH_JWT_AUDIENCE=my_service \
    uvicorn tutorial_app_sync:app --app-dir bench --workers 1
"""

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

import jwt
from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import OAuth2PasswordBearer
from jwt.exceptions import InvalidTokenError
from pydantic import BaseModel
from sqlalchemy import DateTime, String, Uuid, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

DATABASE_URL = os.environ["TUTORIAL_DATABASE_URL"]
SECRET_KEY = os.environ["BENCH_JWT_KEY"]
JWT_ISSUER = os.environ["BENCH_JWT_ISSUER"]
JWT_AUDIENCE = os.environ["BENCH_JWT_AUDIENCE"]
ALGORITHM = "HS256"

# The project's pool: 10 connections, no overflow (SQLAlchemy's default overflow of 10 would
# open and close connections under 16 concurrent requests, and slow this app down).
engine = create_engine(DATABASE_URL, pool_size=10, max_overflow=0)


class Base(DeclarativeBase):
    pass


class User(Base):
    """The project's `users` table, as far as this app reads it."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    hashed_password: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool]
    is_superuser: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UserPublic(BaseModel):
    id: uuid.UUID
    email: str
    is_active: bool
    is_superuser: bool
    created_at: datetime
    updated_at: datetime


def get_session() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="auth/token")


def get_current_user(token: Annotated[str, Depends(oauth2_scheme)], session: SessionDep) -> User:
    credentials_exception = HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Could not validate credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )
    try:
        payload = jwt.decode(
            token, SECRET_KEY, algorithms=[ALGORITHM], audience=JWT_AUDIENCE, issuer=JWT_ISSUER
        )
        subject = payload.get("sub")
        if subject is None:
            raise credentials_exception
        user_id = uuid.UUID(subject)
    except (InvalidTokenError, ValueError):
        raise credentials_exception from None
    user = session.get(User, user_id)
    if user is None:
        raise credentials_exception
    return user


def get_current_active_user(current_user: Annotated[User, Depends(get_current_user)]) -> User:
    if not current_user.is_active:
        raise HTTPException(status_code=400, detail="Inactive user")
    return current_user


CurrentUser = Annotated[User, Depends(get_current_active_user)]

app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/users/me", response_model=UserPublic)
def read_users_me(current_user: CurrentUser) -> User:
    return current_user


@app.get("/users/{user_id}", response_model=UserPublic)
def read_user(user_id: uuid.UUID, current_user: CurrentUser, session: SessionDep) -> User:
    if user_id == current_user.id:
        return current_user
    if not current_user.is_superuser:
        raise HTTPException(status_code=403, detail="Not enough privileges")
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status_code=404, detail="User not found")
    return user
