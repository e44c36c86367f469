"""Signing people in to the back office in tests: a browser-like client per person."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.testclient import TestClient

from tests.http.conftest import Api
from tests.support.world import T0

PASSWORD = "a long enough password"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
SIGN_IN = re.compile(r'action="/sign-in">\s*<input type="hidden" name="csrf" value="([^"]+)"')


@dataclass
class Person:
    """One signed-in person: their own cookie jar."""

    client: TestClient
    email: str

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any], form_page: str | None = None) -> Any:
        """Post a form as the page at `form_page` (default: `path`) offers it: with its
        CSRF token."""
        page = self.client.get(form_page or path)
        found = CSRF.search(page.text)
        assert found, f"no form on {form_page or path}: {page.status_code}"
        return self.client.post(path, data={"csrf": found.group(1), **data}, follow_redirects=False)


def user(api: Api, role: str, email: str | None = None, account_id: Any = None) -> str:
    address = email or f"{role}@organiser.example"
    users = api.system.runtime.users
    assert users is not None
    users.create(account_id or api.account_id, role, address, PASSWORD, T0)
    return address


def signed_in(api: Api, role: str = "admin", **kwargs: Any) -> Person:
    email = user(api, role, **kwargs)
    client = TestClient(api.system.http, base_url="http://testserver")
    form = client.get("/sign-in")
    token = SIGN_IN.search(form.text)
    assert token, form.text
    answer = client.post(
        "/sign-in",
        data={"csrf": token.group(1), "email": email, "password": PASSWORD, "next": "/contacts"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return Person(client, email)
