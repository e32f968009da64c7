"""Clients nobody here wrote, against served projects: Authlib's OAuth2 client logs in, refreshes
and reads errors at the token endpoint (RFC 6749), and openapi-python-client turns the schema
into a client with readable names and no warnings.

The code they exercise is the same in every combination: they run on one sync and one async
project.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx2
import pytest
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client

from tests.conftest import VENV_BIN, Served, combination_params

CLIENT_COMBINATIONS = ("sqlite-uuid-sync", "postgresql-int-async")
on_a_sync_and_an_async_project = pytest.mark.parametrize(
    "baked",
    [param for param in combination_params() if param.id in CLIENT_COMBINATIONS],
    indirect=True,
)

PASSWORD = "correct-horse-9"
WRONG_PASSWORD = "wrong-horse-9"
CLIENT_ID = "test-client"
# FastAPI's default operation ids end in the method (`read_me_users_me_get`).
METHOD_SUFFIXES = ("_get", "_put", "_post", "_patch", "_delete", "_head", "_options")
# What openapi-python-client writes in each endpoint module.
ENDPOINT_FUNCTIONS = {"sync", "sync_detailed", "asyncio", "asyncio_detailed"}
GENERATED_PACKAGE = "generated_client"

# Signs up, logs in and reads the caller with the generated client, in a process of its own.
USE_GENERATED_CLIENT = f"""\
import json
import sys

from {GENERATED_PACKAGE}.api.auth import auth_issue_token
from {GENERATED_PACKAGE}.api.health import health_health
from {GENERATED_PACKAGE}.api.users import users_create_user, users_read_me
from {GENERATED_PACKAGE}.client import AuthenticatedClient, Client
from {GENERATED_PACKAGE}.models import TokenPair, TokenRequest, UserCreate, UserRead

url, email, password = sys.argv[1:]
client = Client(base_url=url, raise_on_unexpected_status=True)
health = health_health.sync(client=client)
created = users_create_user.sync(client=client, body=UserCreate(email=email, password=password))
pair = auth_issue_token.sync(
    client=client,
    body=TokenRequest(grant_type="password", username=email, password=password),
)
assert isinstance(pair, TokenPair), pair
me = users_read_me.sync(client=AuthenticatedClient(base_url=url, token=pair.access_token))
assert isinstance(created, UserRead) and isinstance(me, UserRead), (created, me)
print(json.dumps({{"health": health.to_dict(), "created": created.email, "me": me.email}}))
"""


def new_email(purpose: str) -> str:
    return f"{purpose}-{uuid.uuid4().hex[:8]}@example.com"


def sign_up(url: str, email: str) -> None:
    response = httpx2.post(f"{url}/users", json={"email": email, "password": PASSWORD}, timeout=10)
    assert response.status_code == 201, response.text


def oauth2_client() -> OAuth2Client:
    """A public client (no secret), as a script or a mobile app would be."""
    return OAuth2Client(
        client_id=CLIENT_ID,
        token_endpoint_auth_method="none",  # noqa: S106 - a method's name, not a secret
        timeout=10,
    )


@on_a_sync_and_an_async_project
def test_authlib_fetches_a_token_and_reads_the_current_user_with_it(served: Served) -> None:
    email = new_email("authlib-login")
    sign_up(served.url, email)

    with oauth2_client() as client:
        token = client.fetch_token(f"{served.url}/auth/token", username=email, password=PASSWORD)
        me = client.get(f"{served.url}/users/me")

    assert token["token_type"] == "bearer"
    assert token["access_token"]
    assert token["refresh_token"]
    assert isinstance(token["expires_in"], int)
    assert token["expires_in"] > 0
    assert me.status_code == 200, me.text
    assert me.json()["email"] == email


@on_a_sync_and_an_async_project
def test_authlib_raises_invalid_grant_for_a_wrong_password(served: Served) -> None:
    """The 0.2.0 401 had no `error` member: Authlib stored the error body as the token."""
    email = new_email("authlib-wrong")
    sign_up(served.url, email)

    with oauth2_client() as client, pytest.raises(OAuthError) as raised:
        client.fetch_token(f"{served.url}/auth/token", username=email, password=WRONG_PASSWORD)

    assert raised.value.error == "invalid_grant"
    assert raised.value.description


@on_a_sync_and_an_async_project
def test_authlib_refreshes_at_the_token_endpoint_and_the_used_token_is_refused(
    served: Served,
) -> None:
    email = new_email("authlib-refresh")
    sign_up(served.url, email)
    token_url = f"{served.url}/auth/token"

    with oauth2_client() as client:
        first = dict(client.fetch_token(token_url, username=email, password=PASSWORD))
        second = dict(client.refresh_token(token_url, refresh_token=first["refresh_token"]))
        me = client.get(f"{served.url}/users/me")
        with pytest.raises(OAuthError) as reused:
            client.refresh_token(token_url, refresh_token=first["refresh_token"])

    assert second["token_type"] == "bearer"
    assert second["access_token"]
    assert second["refresh_token"] not in {"", first["refresh_token"]}
    assert me.status_code == 200, me.text
    assert me.json()["email"] == email
    assert reused.value.error == "invalid_grant"


def generate_client(url: str, directory: Path) -> subprocess.CompletedProcess[str]:
    """openapi-python-client on the served schema, into `directory`/GENERATED_PACKAGE.

    Offline: the schema is read from a file, and the ruff that formats the output is the
    template environment's.
    """
    schema = httpx2.get(f"{url}/openapi.json", timeout=10)
    assert schema.status_code == 200, schema.text
    (directory / "openapi.json").write_bytes(schema.content)
    return subprocess.run(
        [
            str(VENV_BIN / "openapi-python-client"),
            "generate",
            "--path",
            "openapi.json",
            "--output-path",
            GENERATED_PACKAGE,
            "--meta",
            "none",
            "--fail-on-warning",
        ],
        cwd=directory,
        env={**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def public_functions(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and not node.name.startswith("_")
    }


@on_a_sync_and_an_async_project
def test_openapi_python_client_generates_readable_names_without_warnings(
    served: Served, tmp_path: Path
) -> None:
    """Each endpoint module is named after its operation id, `<tag>_<function>`."""
    result = generate_client(served.url, tmp_path)
    output = f"{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, output
    complaints = [
        line for line in output.splitlines() if "warning" in line.lower() or "error" in line.lower()
    ]
    assert complaints == [], output

    api = tmp_path / GENERATED_PACKAGE / "api"
    modules = [module for module in sorted(api.glob("*/*.py")) if module.name != "__init__.py"]
    assert len(modules) >= 5, modules
    unexpected_functions = {
        module.stem: functions
        for module in modules
        if (functions := public_functions(module)) != ENDPOINT_FUNCTIONS
    }
    assert unexpected_functions == {}
    misnamed = [
        f"{module.parent.name}/{module.stem}"
        for module in modules
        if module.stem.endswith(METHOD_SUFFIXES)
        or not module.stem.startswith(f"{module.parent.name}_")
    ]
    assert misnamed == []


@on_a_sync_and_an_async_project
def test_the_generated_client_signs_up_logs_in_and_reads_the_current_user(
    served: Served, tmp_path: Path
) -> None:
    result = generate_client(served.url, tmp_path)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    email = new_email("generated")

    used = subprocess.run(
        [sys.executable, "-c", USE_GENERATED_CLIENT, served.url, email, PASSWORD],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert used.returncode == 0, used.stderr
    assert json.loads(used.stdout) == {"health": {"status": "ok"}, "created": email, "me": email}
