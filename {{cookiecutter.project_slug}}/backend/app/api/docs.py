"""/redoc as fastapi-offline serves it, but with no request leaving the app: Redoc's side menu
loads Redocly's logo from their CDN, so the page is served with a copy of the script that
shows no logo there (the "API docs by Redocly" link stays)."""

from functools import cache
from importlib.resources import files

from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_redoc_html
from starlette.responses import HTMLResponse

REDOC_URL = "/redoc"
REDOC_SCRIPT_URL = "/docs/redoc.js"
REDOCLY_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
# An image with no data: the browser requests nothing, and Redoc hides an image that fails.
NO_IMAGE = b"data:,"


@cache
def redoc_script() -> bytes:
    """fastapi-offline's copy of Redoc's script, read once, without the logo's address."""
    script = files("fastapi_offline").joinpath("static/redoc.standalone.js").read_bytes()
    return script.replace(REDOCLY_LOGO, NO_IMAGE)


def add_redoc(app: FastAPI, *, static_url: str) -> None:
    """Serve Redoc at REDOC_URL, its script and favicon from this app."""

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc_page(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{REDOC_SCRIPT_URL}",
            redoc_favicon_url=f"{root}{static_url}/favicon.png",
            with_google_fonts=False,
        )

    @app.get(REDOC_SCRIPT_URL, include_in_schema=False)
    async def redoc_page_script() -> Response:
        return Response(
            redoc_script(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )
