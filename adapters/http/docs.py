"""`/docs`: Swagger UI on `/openapi.json`, and `/` pointing to it (decision 0046).

Swagger UI's files come from the `swagger-ui-py` package installed with the project
(Swagger UI 5, which reads OpenAPI 3.1); none is copied into the repository. Only the two
files the page needs are served from it, never the package's folder. The page itself
holds no inline script, so its Content-Security-Policy allows scripts from this origin only.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from adapters.http.errors import problem

ASSETS = {  # served name → (file in the package's static folder, media type)
    "swagger-ui.css": ("swagger-ui.css", "text/css"),
    "swagger-ui-bundle.js": ("swagger-ui-bundle.js", "text/javascript"),
    "favicon.png": ("favicon-32x32.png", "image/png"),
}
CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # Swagger UI sets a few style attributes
        "img-src 'self' data:",  # its icons are data: URIs
        "font-src 'self' data:",
        "connect-src 'self'",  # /openapi.json, and "Try it out" on this API only
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Contact Ledger API</title>
<link rel="icon" href="/docs/favicon.png">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/start.js"></script>
</body>
</html>
"""
START = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  displayRequestDuration: true,
  persistAuthorization: false
});
"""
MISSING = "the API page's files are not installed: .venv/bin/pip install -e . (swagger-ui-py)"


@cache  # looked up once per process: what is installed does not change under it
def swagger_ui_folder() -> Path | None:
    """Where the installed package keeps Swagger UI (found without importing it)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "static"


async def docs_page(_request: Request) -> Response:
    if swagger_ui_folder() is None:
        return problem(503, MISSING)
    return Response(PAGE, media_type="text/html; charset=utf-8", headers=HEADERS)


async def docs_asset(request: Request) -> Response:
    name = request.path_params["asset"]
    if name == "start.js":
        return Response(START, media_type="text/javascript", headers=HEADERS)
    folder = swagger_ui_folder()
    if name not in ASSETS:
        return problem(404, f"no file {name!r} here; the page is /docs")
    if folder is None:
        return problem(503, MISSING)
    file, media_type = ASSETS[name]
    headers = {**HEADERS, "Cache-Control": "public, max-age=86400"}
    return FileResponse(folder / file, media_type=media_type, headers=headers)
