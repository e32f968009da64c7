"""The API documentation: served from the app itself, complete, and off in production."""

import re

from fastapi.testclient import TestClient

from app.api.errors import error_response, error_responses
from app.core.config import get_settings
from app.core.errors import Conflict, NotFound
from app.main import create_app

REMOTE_URL = re.compile(r"""(?:src|href)=["']?(?:https?:)?//""", re.IGNORECASE)


def test_docs_pages_load_their_assets_from_the_app(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        response = client.get(page)

        assert response.status_code == 200
        assert not REMOTE_URL.search(response.text), page
        for asset in re.findall(r"""(?:src|href)=["'](/docs/static/[^"']+)""", response.text):
            assert client.get(asset).status_code == 200, asset


def test_redoc_asks_no_cdn_for_its_logo(client: TestClient) -> None:
    page = client.get("/redoc").text
    script = client.get(re.findall(r'<script src="([^"]+)"', page)[-1])

    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert b"Redoc" in script.content
    assert b"cdn.redoc.ly" not in script.content


def test_the_schema_documents_every_error_and_the_login_flow(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]

    flows = schema["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
    assert flows["password"]["tokenUrl"] == "/auth/token"
    assert flows["password"]["refreshUrl"] == "/auth/token"
    assert set(paths["/users/me"]["get"]["responses"]) >= {"200", "401", "403"}
    assert set(paths["/users/{user_id}"]["get"]["responses"]) >= {"200", "401", "403", "404", "422"}
    assert set(paths["/users/{user_id}"]["patch"]["responses"]) >= {"200", "401", "403", "404"}
    assert set(paths["/auth/token"]["post"]["responses"]) >= {"200", "400", "422", "429"}
    assert set(paths["/auth/refresh"]["post"]["responses"]) >= {"200", "401", "422"}
    assert set(paths["/auth/logout"]["post"]["responses"]) >= {"204", "422"}
    assert set(paths["/users"]["post"]["responses"]) >= {"201", "409", "422"}


def test_the_health_probes_document_their_bodies(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths, models = schema["paths"], schema["components"]["schemas"]

    def model(path: str, code: str) -> str:
        body = paths[path]["get"]["responses"][code]["content"]["application/json"]["schema"]
        return str(body["$ref"]).rsplit("/", 1)[-1]

    assert model("/health", "200") == "Health"
    assert model("/health/ready", "200") == model("/health/ready", "503") == "Readiness"
    assert models["Readiness"]["properties"]["status"]["enum"] == ["ok", "unavailable"]
    assert client.get("/health").json() == {"status": "ok"}


def test_production_serves_no_docs_unless_asked() -> None:
    production = get_settings().model_copy(update={"ENVIRONMENT": "production"})
    asked = production.model_copy(update={"DOCS_ENABLED": True})

    with TestClient(create_app(production)) as client:
        hidden = [client.get(path).status_code for path in ("/docs", "/redoc", "/openapi.json")]
    with TestClient(create_app(asked)) as client:
        shown = [client.get(path).status_code for path in ("/docs", "/redoc", "/openapi.json")]

    assert hidden == [404, 404, 404]
    assert shown == [200, 200, 200]


def test_each_documented_error_shows_its_own_example(client: TestClient) -> None:
    responses = client.get("/openapi.json").json()["paths"]["/users/me"]["get"]["responses"]

    examples = responses["401"]["content"]["application/json"]["examples"]
    assert examples["invalid_token"]["value"]["code"] == "invalid_token"
    assert set(examples) == {"not_authenticated", "invalid_token"}
    assert set(responses["403"]["content"]["application/json"]["examples"]) == {"user_inactive"}


def test_an_error_of_your_own_takes_the_status_of_its_base_class() -> None:
    class InvoiceNotFound(NotFound):
        code = "invoice_not_found"
        message = "Invoice not found."

    class InvoicePaid(Conflict):
        code = "invoice_paid"
        message = "This invoice is paid already."

    documented = error_responses(InvoiceNotFound, InvoicePaid)

    assert error_response(InvoiceNotFound()).status_code == 404
    assert error_response(InvoicePaid()).status_code == 409
    assert set(documented) == {404, 409}
    assert "invoice_paid" in documented[409]["content"]["application/json"]["examples"]
