"""The web face: HTML pages, static files and security headers. Templates and static
files live in ``qa/http/templates/`` and ``qa/http/static/``, inside the package, so that any install has them.

Every page is rendered by Jinja2 with autoescaping on; document text is never marked safe.
The Content-Security-Policy allows scripts and styles from this server only: no inline
script, no inline style, no CDN.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

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
# Paths whose clients expect JSON errors, not the HTML "not found" page.
WEB_DIR = Path(__file__).resolve().parent  # templates/ and static/ ship inside the package
_MACHINE_PATHS = ("/api/", "/ask", "/health", "/admin/", "/static/", "/vendor/", "/openapi.json")


def templates_for(web_dir: Path) -> Jinja2Templates:
    """Jinja2 templates with autoescaping on for every file and a ``static_url`` helper."""
    templates = Jinja2Templates(directory=str(web_dir / "templates"))
    templates.env.autoescape = True
    templates.env.trim_blocks = True
    templates.env.lstrip_blocks = True
    static = web_dir / "static"
    versions: dict[str, str] = {}

    def static_url(name: str) -> str:
        """``/static/<name>?v=<content hash>``, so browsers may cache static files for good."""
        if name not in versions:
            versions[name] = hashlib.sha256((static / name).read_bytes()).hexdigest()[:10]
        return f"/static/{name}?v={versions[name]}"

    templates.env.globals["static_url"] = static_url
    return templates


def install_web(app: FastAPI, settings: Settings) -> None:
    """Mount static files, the pages, the offline API docs page and the security headers."""
    import fastapi_offline

    from qa.http.pages import install_pages

    web_dir = settings.web_dir or WEB_DIR
    templates = templates_for(web_dir)
    app.state.templates = templates
    app.mount("/static", StaticFiles(directory=str(web_dir / "static")), name="static")
    vendor = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/vendor", StaticFiles(directory=str(vendor)), name="vendor")
    install_pages(app, templates)

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs(request: Request) -> Response:
        return templates.TemplateResponse(request, "docs.html", {})

    @app.exception_handler(StarletteHTTPException)
    async def not_found_page(request: Request, exc: StarletteHTTPException) -> Response:
        wants_html = "text/html" in request.headers.get("accept", "")
        if exc.status_code != 404 or not wants_html or request.url.path.startswith(_MACHINE_PATHS):
            return await http_exception_handler(request, exc)
        context = {"heading": "Page not found", "message": "There is no page at this address."}
        return templates.TemplateResponse(request, "error.html", context, status_code=404)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
