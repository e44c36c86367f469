"""`/docs`: Swagger UI on `/openapi.json`, from the installed package; `/` leads there."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.http.docs import swagger_ui_folder
from tests.http.conftest import Api

README = Path(__file__).parents[2] / "README.md"


def test_the_root_leads_to_the_api_page(api: Api) -> None:
    answer = api.client.get("/", follow_redirects=False)
    assert answer.status_code == 303  # the back office's sign-in (issue 25), not 301
    assert answer.headers["location"] == "/sign-in"
    assert 'href="/docs"' in api.client.get("/sign-in").text


def test_the_api_page_loads_swagger_ui_on_the_openapi_document(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    scripts = [tag for tag in page.text.split("<script")[1:]]
    assert scripts and all(tag.startswith(' src="/docs/') for tag in scripts)  # none inline
    start = api.client.get("/docs/start.js")
    assert start.status_code == 200
    assert 'url: "/openapi.json"' in start.text


def test_the_page_forbids_scripts_and_connections_to_other_origins(api: Api) -> None:
    policy = api.client.get("/docs").headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"


@pytest.mark.parametrize(
    ("name", "media_type", "file"),
    [
        ("swagger-ui-bundle.js", "text/javascript", "swagger-ui-bundle.js"),
        ("swagger-ui.css", "text/css", "swagger-ui.css"),
    ],
)
def test_the_page_files_come_from_the_installed_package(
    api: Api, name: str, media_type: str, file: str
) -> None:
    folder = swagger_ui_folder()
    assert folder is not None, "swagger-ui-py is a dependency"
    answer = api.client.get(f"/docs/{name}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(media_type)
    assert answer.content == (folder / file).read_bytes()


def test_no_other_file_of_the_package_is_served(api: Api) -> None:
    for name in ("swagger-editor-bundle.js", "..%2F__init__.py", "LICENSE"):
        answer = api.client.get(f"/docs/{name}")
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"


def test_the_readme_links_the_api_page() -> None:
    assert "http://127.0.0.1:8000/docs" in README.read_text()
