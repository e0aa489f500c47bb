"""The web face: HTML pages, static files and security headers. Templates live in ``web/``.

Every page is rendered by Jinja2 with autoescaping on; document text is never marked safe.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from qa.config import Settings

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def templates_for(web_dir: Path) -> Jinja2Templates:
    """Jinja2 templates with autoescaping on for every file."""
    templates = Jinja2Templates(directory=str(web_dir / "templates"))
    templates.env.autoescape = True
    return templates


def install_web(app: FastAPI, settings: Settings) -> None:
    """Mount static files, the offline API docs page and the security headers."""
    import fastapi_offline

    web_dir = settings.web_dir
    templates = templates_for(web_dir)
    app.state.templates = templates
    app.mount("/static", StaticFiles(directory=str(web_dir / "static")), name="static")
    vendor = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/vendor", StaticFiles(directory=str(vendor)), name="vendor")

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs(request: Request) -> Response:
        return templates.TemplateResponse(request, "docs.html", {})

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
