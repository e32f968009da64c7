"""Logging in, staying logged in, logging out, and who may see what."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pydantic import SecretStr
from sqlalchemy import delete, update

from app.api.deps import current_settings
from app.api.routes import auth
from app.core import security
from app.core import tokens as token_module
from app.core.config import Settings, get_settings
from app.core.tokens import create_access_token
from app.models.refresh_token import RefreshToken
from app.models.user import User
from app.repositories.refresh_tokens import RefreshTokenRepository
from app.repositories.users import UserRepository
from tests.conftest import InAppTransaction
from tests.factories import (
    DEFAULT_PASSWORD,
    UNKNOWN_ID,
    bearer,
    log_in,
    sign_up,
    signed_up_and_logged_in,
    unique_email,
)

INVALID_TOKEN = {"detail": "The token is invalid or has expired.", "code": "invalid_token"}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
INVALID_CREDENTIALS = {"detail": "Incorrect email or password.", "code": "invalid_credentials"}
USER_INACTIVE = {"detail": "This account is deactivated.", "code": "user_inactive"}
USER_NOT_FOUND = {"detail": "User not found.", "code": "user_not_found"}
FORBIDDEN = {"detail": "You are not allowed to do this.", "code": "forbidden"}


def oauth_error(error: str, body: dict[str, str]) -> dict[str, str]:
    """What the token endpoint answers for the domain error whose body is `body`."""
    return {"error": error, "error_description": body["detail"], **body}


def me(client: TestClient, access_token: str) -> Any:
    return client.get("/users/me", headers=bearer(access_token))


def refresh(client: TestClient, refresh_token: str) -> Any:
    return client.post("/auth/refresh", json={"refresh_token": refresh_token})


# Logging in


def test_login_returns_a_bearer_token_pair_for_the_user(client: TestClient) -> None:
    user = sign_up(client, email="Login@Example.com").json()

    response = log_in(client, "LOGIN@example.com")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert len(body["refresh_token"]) >= 43  # 32 random bytes, URL-safe base64
    assert {name: response.headers[name] for name in NO_STORE} == NO_STORE
    claims = claims_of(body["access_token"])
    assert claims["sub"] == str(user["id"])
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["iss"] == claims["aud"] == get_settings().JWT_ISSUER
    assert uuid.UUID(claims["sid"])
    assert abs(claims["auth_time"] - claims["iat"]) <= 1
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"
    assert me(client, body["access_token"]).json() == user


def test_a_wrong_password_and_an_unknown_email_get_the_same_invalid_grant(
    client: TestClient,
) -> None:
    user = sign_up(client).json()

    wrong_password = log_in(client, user["email"], "wrong-password")
    unknown_email = log_in(client, unique_email())

    for response in (wrong_password, unknown_email):
        assert response.status_code == 400
        assert response.json() == oauth_error("invalid_grant", INVALID_CREDENTIALS)
        assert response.headers["Cache-Control"] == "no-store"


def test_an_email_too_long_once_normalised_matches_no_account(client: TestClient) -> None:
    """U+FDFA is one character and 18 once normalised: the lookup finds nothing, no 500."""
    swollen = "\ufdfa" * 21 + "@example.com"

    response = log_in(client, swollen)
    unknown_email = log_in(client, unique_email())

    assert response.status_code == unknown_email.status_code
    assert response.json() == unknown_email.json()


def test_an_unknown_email_is_verified_against_a_dummy_hash(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same work, same time: an unknown email must not answer faster than a wrong password."""
    user = sign_up(client).json()
    calls: list[str] = []

    def dummy(password: str) -> None:
        calls.append("dummy")
        security.verify_dummy_password(password)

    def verify(password: str, hashed_password: str) -> tuple[bool, str | None]:
        calls.append("verify")
        return security.verify_and_update_password(password, hashed_password)

    monkeypatch.setattr(auth, "verify_dummy_password", dummy)
    monkeypatch.setattr(auth, "verify_and_update_password", verify)

    log_in(client, unique_email())
    assert calls == ["dummy"]
    log_in(client, user["email"], "wrong-password")
    assert calls == ["dummy", "verify"]


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"username": "a@example.com"}, "invalid_request"),
        ({"password": "correct-horse-9"}, "invalid_request"),
        ({"username": "", "password": ""}, "invalid_request"),
        ({"username": "a@example.com", "password": "x" * 1025}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
    ],
)
def test_a_token_request_missing_or_malformed_gets_the_oauth2_error(
    client: TestClient, form: dict[str, str], error: str
) -> None:
    response = client.post("/auth/token", data=form)

    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["code"] == error
    assert response.json()["error_description"] == response.json()["detail"]


def test_an_outdated_hash_is_upgraded_at_login(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    email = unique_email()
    settings = get_settings()
    older = PasswordHash(
        (
            Argon2Hasher(
                time_cost=settings.ARGON2_TIME_COST,
                memory_cost=settings.ARGON2_MEMORY_COST_KIB * 2,
                parallelism=settings.ARGON2_PARALLELISM,
            ),
        )
    )
    in_app_transaction(
        lambda session: UserRepository(session).create(
            email=email, hashed_password=older.hash(DEFAULT_PASSWORD)
        )
    )

    assert log_in(client, email).status_code == 200

    stored: User | None = in_app_transaction(
        lambda session: UserRepository(session).get_by_email(email)
    )
    assert stored is not None
    assert f"m={settings.ARGON2_MEMORY_COST_KIB}," in stored.hashed_password
    assert log_in(client, email).status_code == 200


# Access tokens


def test_without_a_token_me_is_401_not_authenticated(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}):
        response = client.get("/users/me", headers=headers)

        assert response.status_code == 401
        assert response.json() == {"detail": "Not authenticated.", "code": "not_authenticated"}
        assert response.headers["WWW-Authenticate"] == "Bearer"


def claims_of(access_token: str) -> dict[str, Any]:
    """The claims of a token, unverified."""
    claims: dict[str, Any] = jwt.decode(access_token, options={"verify_signature": False})
    return claims


def reissued(access_token: str, *, now: datetime, settings: Settings | None = None) -> str:
    """A token for the same user and session as `access_token`, issued by the app at `now`."""
    claims = claims_of(access_token)
    return create_access_token(
        claims["sub"],
        session_id=uuid.UUID(claims["sid"]),
        auth_time=datetime.fromtimestamp(claims["auth_time"], UTC),
        settings=settings or get_settings(),
        now=now,
    )


def signed(claims: dict[str, Any], **changes: Any) -> str:
    """`claims` with `changes` (None drops a claim), signed with the app's key."""
    changed = {name: value for name, value in (claims | changes).items() if value is not None}
    return jwt.encode(changed, get_settings().secret_key, algorithm="HS256")


def forged_tokens(claims: dict[str, Any]) -> dict[str, str]:
    """Access tokens like the real one with `claims` that must all be refused."""
    key = get_settings().secret_key
    header, payload, _ = signed(claims).split(".")
    now = int(datetime.now(UTC).timestamp())
    return {
        "malformed": "not-a-jwt",
        "another key": jwt.encode(claims, "another-key-of-at-least-32-bytes!!", algorithm="HS256"),
        # No key, as PyJWT spells it for `none` whether or not `cryptography` is installed
        # (with it, `None` no longer type-checks).
        "alg none": jwt.encode(claims, "", algorithm="none"),
        "another algorithm": jwt.encode(claims, key, algorithm="HS512"),
        "tampered payload": f"{header}.{payload}x.{signed(claims).split('.')[2]}",
        "no expiry": signed(claims, exp=None),
        "no subject": signed(claims, sub=None),
        "no session": signed(claims, sid=None),
        "no issuer": signed(claims, iss=None),
        "another issuer": signed(claims, iss="another-service"),
        "no audience": signed(claims, aud=None),
        "another audience": signed(claims, aud="another-api"),
        "not an id": signed(claims, sub="admin"),
        "unknown user": signed(claims, sub=str(UNKNOWN_ID)),
        "unknown session": signed(claims, sid=str(uuid.uuid4())),
        "not a session id": signed(claims, sid="session"),
        "a ten-year lifetime": signed(claims, iat=now, exp=now + 10 * 365 * 24 * 3600),
        "issued in the future": signed(claims, iat=now + 120, exp=now + 120 + 15 * 60),
        "oversized": "a" * 5000,
    }


SAMPLE_CLAIMS = {"sub": "1", "sid": str(uuid.uuid4()), "iat": 0, "exp": 0, "auth_time": 0}


@pytest.mark.parametrize("kind", list(forged_tokens(SAMPLE_CLAIMS)))
def test_forged_tokens_are_401_invalid_token(client: TestClient, kind: str) -> None:
    _, tokens = signed_up_and_logged_in(client)
    assert me(client, tokens["access_token"]).status_code == 200

    response = me(client, forged_tokens(claims_of(tokens["access_token"]))[kind])

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_an_expired_access_token_is_401_beyond_the_clock_skew(client: TestClient) -> None:
    _, tokens = signed_up_and_logged_in(client)
    now = datetime.now(UTC)
    expired = reissued(tokens["access_token"], now=now - timedelta(minutes=16))
    just_expired = reissued(tokens["access_token"], now=now - timedelta(minutes=15, seconds=10))
    early = reissued(tokens["access_token"], now=now + timedelta(seconds=10))

    assert me(client, expired).status_code == 401
    assert me(client, expired).json() == INVALID_TOKEN
    # Within the 30 s the issuer's and the verifier's clocks may disagree by.
    assert me(client, just_expired).status_code == 200
    assert me(client, early).status_code == 200


def test_a_rotated_secret_key_keeps_tokens_it_signed_valid_while_listed(
    app: FastAPI, client: TestClient
) -> None:
    user, tokens = signed_up_and_logged_in(client)
    old_key = get_settings().secret_key
    new_key = SecretStr("new-key-" + "n" * 32)
    forgotten = get_settings().model_copy(update={"SECRET_KEY": new_key})
    rotated = forgotten.model_copy(
        update={"SECRET_KEY_PREVIOUS": SecretStr(f"{'x' * 32}, {old_key}")}
    )

    # Verified once with the old key, the token must not stay valid once that key is gone.
    before = me(client, tokens["access_token"])
    app.dependency_overrides[current_settings] = lambda: forgotten
    without_previous = me(client, tokens["access_token"])
    app.dependency_overrides[current_settings] = lambda: rotated
    with_previous = me(client, tokens["access_token"])
    new_token = reissued(tokens["access_token"], now=datetime.now(UTC), settings=rotated)

    assert before.status_code == 200
    assert without_previous.status_code == 401
    assert with_previous.status_code == 200
    assert me(client, new_token).status_code == 200
    assert jwt.decode(
        new_token, new_key.get_secret_value(), algorithms=["HS256"], audience=rotated.JWT_AUDIENCE
    )["sub"] == str(user["id"])


def test_a_token_read_before_is_refused_once_it_expires(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, tokens = signed_up_and_logged_in(client)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert me(client, tokens["access_token"]).status_code == 200

    # The verified token is remembered: only its expiry is checked again, on every use.
    monkeypatch.setattr(token_module, "_now", lambda: claims["exp"] + 29.0)
    within_skew = me(client, tokens["access_token"])
    monkeypatch.setattr(token_module, "_now", lambda: claims["exp"] + 30.0)
    expired = me(client, tokens["access_token"])

    assert within_skew.status_code == 200
    assert expired.status_code == 401
    assert expired.json() == INVALID_TOKEN


def test_a_previous_key_verifies_only_tokens_that_have_not_expired(
    app: FastAPI, client: TestClient
) -> None:
    _, tokens = signed_up_and_logged_in(client)
    previous_key = "previous-key-" + "p" * 32
    rotated = get_settings().model_copy(update={"SECRET_KEY_PREVIOUS": SecretStr(previous_key)})
    signer = get_settings().model_copy(update={"SECRET_KEY": SecretStr(previous_key)})
    app.dependency_overrides[current_settings] = lambda: rotated
    now = datetime.now(UTC)
    live = reissued(tokens["access_token"], now=now, settings=signer)
    expired = reissued(tokens["access_token"], now=now - timedelta(minutes=16), settings=signer)

    assert me(client, live).status_code == 200
    response = me(client, expired)
    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN


# Refresh tokens


def test_refresh_rotates_and_a_reused_token_revokes_the_whole_family(client: TestClient) -> None:
    _, first = signed_up_and_logged_in(client)

    second = refresh(client, first["refresh_token"])
    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert me(client, pair["access_token"]).status_code == 200

    reused = refresh(client, first["refresh_token"])
    assert reused.status_code == 401
    assert reused.json() == INVALID_TOKEN
    # The theft was detected: the legitimate client's newer token is dead too.
    assert refresh(client, pair["refresh_token"]).status_code == 401


def test_another_login_starts_a_family_of_its_own(client: TestClient) -> None:
    user, first = signed_up_and_logged_in(client)
    second = log_in(client, user["email"]).json()

    refresh(client, first["refresh_token"])
    refresh(client, first["refresh_token"])  # reuse: revokes the first family only

    assert refresh(client, second["refresh_token"]).status_code == 200


def test_refresh_tokens_are_stored_only_as_their_sha256(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    _, tokens = signed_up_and_logged_in(client)
    digest = hashlib.sha256(tokens["refresh_token"].encode()).hexdigest()

    by_digest: RefreshToken | None = in_app_transaction(
        lambda session: RefreshTokenRepository(session).get_by_hash(digest)
    )
    by_token: RefreshToken | None = in_app_transaction(
        lambda session: RefreshTokenRepository(session).get_by_hash(tokens["refresh_token"])
    )

    assert by_digest is not None
    assert by_digest.token_hash == digest
    assert by_token is None


def test_expired_unknown_and_malformed_refresh_tokens_are_401(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    _, tokens = signed_up_and_logged_in(client)
    in_app_transaction(
        lambda session: session.execute(
            update(RefreshToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    )

    for token in (tokens["refresh_token"], "unknown-token", ""):
        response = refresh(client, token)
        assert response.status_code == 401
        assert response.json() == INVALID_TOKEN
    assert client.post("/auth/refresh", json={}).status_code == 422
    assert refresh(client, "x" * 5000).status_code == 422


def test_logout_revokes_the_family_and_tells_nothing(client: TestClient) -> None:
    _, tokens = signed_up_and_logged_in(client)
    rotated = refresh(client, tokens["refresh_token"]).json()

    response = client.post("/auth/logout", json={"refresh_token": rotated["refresh_token"]})
    unknown = client.post("/auth/logout", json={"refresh_token": "never-issued"})

    assert response.status_code == 204
    assert response.content == b""
    assert unknown.status_code == 204
    assert refresh(client, rotated["refresh_token"]).status_code == 401


# Who may see what


def test_me_is_the_caller(client: TestClient) -> None:
    user, tokens = signed_up_and_logged_in(client)

    response = me(client, tokens["access_token"])

    assert response.status_code == 200
    assert response.json() == user


def test_another_users_id_is_404_like_an_unknown_one(client: TestClient) -> None:
    other = sign_up(client).json()
    _, tokens = signed_up_and_logged_in(client)

    response = client.get(f"/users/{other['id']}", headers=bearer(tokens["access_token"]))
    unknown = client.get(f"/users/{UNKNOWN_ID}", headers=bearer(tokens["access_token"]))

    assert response.status_code == unknown.status_code == 404
    assert response.json() == unknown.json() == USER_NOT_FOUND


@pytest.mark.parametrize("user_id", [str(UNKNOWN_ID), "not-an-id", "0"])
def test_reading_a_user_without_a_token_is_401_whatever_the_id(
    client: TestClient, user_id: str
) -> None:
    response = client.get(f"/users/{user_id}")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_superuser_reads_anyone(client: TestClient, in_app_transaction: InAppTransaction) -> None:
    other = sign_up(client).json()
    admin, tokens = signed_up_and_logged_in(client)
    promote(in_app_transaction, admin["email"])

    response = client.get(f"/users/{other['id']}", headers=bearer(tokens["access_token"]))

    assert response.status_code == 200
    assert response.json() == other


def promote(in_app_transaction: InAppTransaction, email: str) -> None:
    """Make the user with `email` a superuser."""
    users_by_email: User | None = in_app_transaction(
        lambda session: UserRepository(session).get_by_email(email)
    )
    assert users_by_email is not None
    user_id = users_by_email.id
    in_app_transaction(
        lambda session: session.execute(
            update(User).where(User.id == user_id).values(is_superuser=True)
        )
    )


@pytest.mark.parametrize("user_id", [str(UNKNOWN_ID), "not-an-id", "self"])
def test_only_superusers_may_patch_users_whatever_the_id(client: TestClient, user_id: str) -> None:
    user, tokens = signed_up_and_logged_in(client)
    target = str(user["id"]) if user_id == "self" else user_id

    response = client.patch(
        f"/users/{target}", json={"is_active": False}, headers=bearer(tokens["access_token"])
    )

    assert response.status_code == 403
    assert response.json() == FORBIDDEN


def test_a_superuser_deactivates_a_user_who_is_then_locked_out(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    user, user_tokens = signed_up_and_logged_in(client)
    admin, admin_tokens = signed_up_and_logged_in(client)
    promote(in_app_transaction, admin["email"])
    headers = bearer(admin_tokens["access_token"])

    unknown = client.patch(f"/users/{UNKNOWN_ID}", json={"is_active": False}, headers=headers)
    extra = client.patch(
        f"/users/{user['id']}", json={"is_active": False, "email": "x@example.com"}, headers=headers
    )
    not_a_bool = client.patch(f"/users/{user['id']}", json={"is_active": "no"}, headers=headers)
    response = client.patch(f"/users/{user['id']}", json={"is_active": False}, headers=headers)

    assert unknown.status_code == 404
    assert unknown.json() == USER_NOT_FOUND
    assert extra.status_code == 422
    assert not_a_bool.status_code == 422
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert response.json()["email"] == user["email"]
    # The access token still verifies, but the user is loaded on every request.
    assert me(client, user_tokens["access_token"]).status_code == 403
    assert me(client, user_tokens["access_token"]).json() == USER_INACTIVE
    # Deactivation ended the sessions.
    assert refresh(client, user_tokens["refresh_token"]).status_code == 401
    # The right password still gets no tokens; a wrong one is still just wrong.
    assert log_in(client, user["email"]).status_code == 400
    assert log_in(client, user["email"]).json() == oauth_error("invalid_grant", USER_INACTIVE)
    wrong = log_in(client, user["email"], "wrong-password").json()
    assert wrong == oauth_error("invalid_grant", INVALID_CREDENTIALS)


def test_a_deleted_users_token_is_401(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    user, tokens = signed_up_and_logged_in(client)
    in_app_transaction(
        lambda session: session.execute(delete(User).where(User.email == user["email"]))
    )

    response = me(client, tokens["access_token"])

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN
    assert refresh(client, tokens["refresh_token"]).status_code == 401
