"""A job's page: its progress while it runs (the page reloads itself each second, no
script), then what it did and each skipped contact's reason."""

from __future__ import annotations

from starlette.responses import Response

from adapters.web.calls import read
from adapters.web.pages import Page

RUNNING = ("queued", "running")


async def job(page: Page) -> Response:
    path = {"job_id": page.request.path_params["job_id"]}
    found = await read(page.runtime, page.request, page.user, ("GET", "/v1/jobs/{job_id}"), path)
    return page.render("job.html", job=found, running=found.status in RUNNING)
