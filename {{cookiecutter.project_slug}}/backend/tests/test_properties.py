"""Generated requests against every endpoint: never a 5xx, and bodies that match the schema."""

from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter

from app.schemas.auth import TokenPair
from app.schemas.errors import ErrorResponse, TokenErrorResponse
from app.schemas.user import UserRead
from tests.factories import bearer, signed_up_and_logged_in

# The fixture's transaction is shared by all examples of a test and rolled back at its end.
EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
emails = st.emails() | st.text(max_size=40)
passwords = st.text(max_size=140) | json_values
user_bodies = st.fixed_dictionaries(
    {},
    optional={"email": emails | json_values, "password": passwords, "extra": json_values},
)


class ValidationErrorBody(BaseModel):
    detail: list[dict[str, Any]]


ERRORS: dict[int, type[BaseModel]] = {
    401: ErrorResponse,
    403: ErrorResponse,
    404: ErrorResponse,
    # An id that decodes to another path ("a/b", "/") can reach a route without GET or PATCH.
    405: ErrorResponse,
    409: ErrorResponse,
    422: ValidationErrorBody,
}


def assert_matches_schema(status_code: int, body: Any, success: type[BaseModel] = UserRead) -> None:
    expected: dict[int, type[BaseModel]] = {200: success, 201: success} | ERRORS
    assert status_code in expected, status_code
    TypeAdapter(expected[status_code]).validate_python(body)


@EXAMPLES
@given(body=user_bodies | json_values)
def test_create_user_never_fails_on_the_server(client: TestClient, body: Any) -> None:
    response = client.post("/users", json=body)

    assert response.status_code < 500
    assert_matches_schema(response.status_code, response.json())


path_segments = st.text(min_size=1, max_size=60) | st.integers().map(str) | st.uuids().map(str)
printable_ascii = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200)


@pytest.fixture
def auth_headers(client: TestClient) -> dict[str, str]:
    """A signed-in user's header: made once per test, shared by its examples."""
    return bearer(signed_up_and_logged_in(client)[1]["access_token"])


@EXAMPLES
@given(user_id=path_segments, authenticated=st.booleans())
def test_get_user_never_fails_on_the_server(
    client: TestClient, auth_headers: dict[str, str], user_id: str, authenticated: bool
) -> None:
    headers = auth_headers if authenticated else {}

    response = client.get(f"/users/{quote(user_id, safe='')}", headers=headers)

    assert response.status_code < 500
    assert_matches_schema(response.status_code, response.json())


@EXAMPLES
@given(user_id=path_segments, body=json_values)
def test_patch_user_never_fails_on_the_server(
    client: TestClient, auth_headers: dict[str, str], user_id: str, body: Any
) -> None:
    response = client.patch(f"/users/{quote(user_id, safe='')}", json=body, headers=auth_headers)

    assert response.status_code < 500
    assert_matches_schema(response.status_code, response.json())


@EXAMPLES
@given(authorization=st.text(max_size=300))
def test_any_authorization_header_is_a_4xx_for_me(client: TestClient, authorization: str) -> None:
    try:
        response = client.get("/users/me", headers={"Authorization": authorization})
    except UnicodeEncodeError:
        return  # not a header an HTTP client can send
    assert response.status_code == 401
    assert_matches_schema(response.status_code, response.json())


@EXAMPLES
@given(
    form=st.dictionaries(
        st.sampled_from(["username", "password", "grant_type", "refresh_token", "scope"]),
        st.text(max_size=60),
    )
)
def test_login_never_fails_on_the_server(client: TestClient, form: dict[str, str]) -> None:
    response = client.post("/auth/token", data=form)

    assert response.status_code < 500
    # RFC 6749's errors, or throttling once the examples have failed often enough.
    if response.status_code in {400, 429}:
        TokenErrorResponse.model_validate(response.json())
    else:
        assert_matches_schema(response.status_code, response.json(), TokenPair)


@EXAMPLES
@given(
    body=st.fixed_dictionaries({}, optional={"refresh_token": st.text(max_size=80) | json_values})
    | json_values
)
def test_refresh_and_logout_never_fail_on_the_server(client: TestClient, body: Any) -> None:
    refreshed = client.post("/auth/refresh", json=body)
    logged_out = client.post("/auth/logout", json=body)

    assert refreshed.status_code < 500
    assert_matches_schema(refreshed.status_code, refreshed.json(), TokenPair)
    assert logged_out.status_code in {204, 422}


@EXAMPLES
@given(request_id=printable_ascii)
def test_any_request_id_header_gets_a_valid_one_back(client: TestClient, request_id: str) -> None:
    response = client.get("/health", headers={"X-Request-ID": request_id})

    assert response.status_code == 200
    assert 1 <= len(response.headers["X-Request-ID"]) <= 128
