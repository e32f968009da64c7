"""The served project's Swagger UI in headless Chromium: offline, and usable to log in."""

from __future__ import annotations

import os
import secrets
import shutil
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx2
import pytest
from playwright.sync_api import ConsoleMessage, Page, Route, expect, sync_playwright

from tests.conftest import TEMPLATE_DIR, Baked, Served, combination_params

# The page is the same in every combination; the session and routes behind it differ by mode.
BROWSER_COMBINATIONS = ("sqlite-uuid-sync", "postgresql-int-async")
SCREENSHOTS = TEMPLATE_DIR / "build/artifacts/browser"
PROJECT_NAME = "My Service"
# Generous: in `make test` the page shares two cores with other projects' mypy and pytest.
TIMEOUT_MS = 20_000


def running_in_ci() -> bool:
    """CI is any value of `CI` but empty, `false` or `0`."""
    return os.environ.get("CI", "").strip().lower() not in {"", "false", "0"}


@pytest.fixture(scope="session")
def chromium() -> str:
    """The browser at CHROMIUM_PATH or on PATH; its absence skips locally and fails in CI."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if path and os.access(path, os.X_OK):
        return path
    reason = f"no Chromium at {path}" if path else "no chromium on PATH"
    reason += ": install it (apt-get install chromium) or set CHROMIUM_PATH"
    if running_in_ci():
        pytest.fail(f"CI requires the browser test: {reason}")
    pytest.skip(reason)


def same_origin_only(origin: str, blocked: list[str]) -> Callable[[Route], None]:
    """A route handler that lets requests to `origin` through and aborts, and notes, the rest."""
    allowed = urlsplit(origin)[:2]

    def handle(route: Route) -> None:
        if urlsplit(route.request.url)[:2] == allowed:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("blockedbyclient")

    return handle


def call_users_me_from_swagger_ui(page: Page, email: str, password: str) -> str:
    """On the docs page, Authorize with the password form and run GET /users/me; the response."""
    page.get_by_role("button", name="Authorize", exact=True).click()
    dialog = page.locator(".dialog-ux")
    dialog.get_by_label("username:").fill(email)
    dialog.get_by_label("password:").fill(password)
    dialog.get_by_role("button", name="Apply given OAuth2 credentials").click()
    # Swagger UI swaps Authorize for Logout once the token endpoint has answered 200.
    expect(dialog.get_by_role("button", name="Remove authorization")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    dialog.get_by_role("button", name="Close").click()

    operation = page.locator(".opblock-get").filter(has=page.locator('[data-path="/users/me"]'))
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    response = operation.locator(".live-responses-table .response")
    expect(response.locator(".response-col_status")).to_have_text("200", timeout=TIMEOUT_MS)
    return response.locator(".response-col_description").inner_text()


@pytest.mark.parametrize(
    "baked",
    [param for param in combination_params() if param.id in BROWSER_COMBINATIONS],
    indirect=True,
)
def test_swagger_ui_offline_logs_in_and_shows_the_current_user(
    chromium: str, served: Served, baked: Baked
) -> None:
    """Sign up, Authorize in /docs, Try it out GET /users/me: 200 with the email on the page;
    then /redoc renders the API.

    Every request off the served origin is aborted and must not even be attempted: the pages
    work with no network. The screenshot, taken pass or fail, is
    build/artifacts/browser/<combination>.png in the template's checkout.
    """
    email = f"browser-{uuid.uuid4().hex[:8]}@example.com"
    password = secrets.token_urlsafe(12)
    signed_up = httpx2.post(
        f"{served.url}/users", json={"email": email, "password": password}, timeout=10
    )
    assert signed_up.status_code == 201, signed_up.text

    blocked: list[str] = []
    errors: list[str] = []
    screenshot = SCREENSHOTS / f"{baked.combination.id}.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            context.route("**/*", same_origin_only(served.url, blocked))
            page = context.new_page()

            def note_error(message: ConsoleMessage) -> None:
                if message.type == "error":
                    errors.append(message.text)

            page.on("console", note_error)
            page.on("pageerror", lambda error: errors.append(str(error)))
            try:
                page.goto(f"{served.url}/docs")
                # Fail here, by name, rather than on a button that never rendered.
                assert blocked == [], f"/docs reached off {served.url}"
                shown = call_users_me_from_swagger_ui(page, email, password)
                # Redoc, whose stock script asks Redocly's CDN for a logo: rendered, asking
                # nothing of anyone else.
                page.goto(f"{served.url}/redoc")
                expect(page.get_by_role("link", name="API docs by Redocly")).to_be_visible()
                expect(page.locator(".api-info h1")).to_contain_text(PROJECT_NAME)
                page.wait_for_load_state("networkidle")
            finally:
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=screenshot, full_page=True)
        finally:
            browser.close()

    assert f'"email": "{email}"' in shown
    assert blocked == []
    assert errors == []
