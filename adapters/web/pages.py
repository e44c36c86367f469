"""What every back-office page shares: who is signed in, CSRF, language, headers, rendering.

Pages are server-rendered (Jinja2, autoescaped) with plain forms and no script: a form
posts, the page answers with a redirect (post/redirect/get) or shows the form again with
each refusal beside its field. Personal data is on these pages, so every answer says
`no-store` and a Content-Security-Policy that allows nothing but this site's own style
sheet and forms, in no frame (decision 0053).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from adapters.http.endpoint import Runtime
from adapters.users import Session
from adapters.web import i18n
from adapters.web.calls import RefusedError, allowed

SESSION_COOKIE = "ledger_session"
SIGN_IN_CSRF_COOKIE = "ledger_sign_in"
FLASH_COOKIE = "ledger_flash"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


@dataclass
class Page:
    """One request to a back-office page: the person, their language, the runtime."""

    request: Request
    runtime: Runtime
    session: Session | None
    language: str
    envs: dict[str, Any]

    @property
    def user(self) -> Any:
        assert self.session is not None
        return self.session.user

    def _(self, text: str, **values: Any) -> str:
        found = self.envs[self.language].globals["plain_gettext"](text)
        return found % values if values else found  # type: ignore[no-any-return]

    def render(self, template: str, status: int = 200, **values: Any) -> Response:
        env = self.envs[self.language]
        html = env.get_template(template).render(
            page=self,
            user=None if self.session is None else self.session.user,
            csrf="" if self.session is None else self.session.csrf,
            may=lambda method, path: (
                self.session is not None and allowed(self.session.user, method, path)
            ),
            flash=unquote(self.request.cookies.get(FLASH_COOKIE, "")),
            here=self.request.url.path,
            **values,
        )
        response = HTMLResponse(html, status, headers=HEADERS)
        if self.request.cookies.get(FLASH_COOKIE):
            response.delete_cookie(FLASH_COOKIE, path="/")
        return response

    def refused(self, refusal: RefusedError) -> Response:
        return self.render("refused.html", refusal.status, refusal=refusal)

    def redirect(self, to: str, flash: str = "") -> Response:
        response = RedirectResponse(to, 303, headers=HEADERS)
        if flash:
            response.set_cookie(
                FLASH_COOKIE, quote(flash), httponly=True, samesite="lax", path="/", max_age=60
            )
        return response

    async def form(self) -> dict[str, str]:
        """The posted form's text fields, after the CSRF check (403 page if it fails)."""
        form = await self.request.form(max_files=0, max_fields=200)
        values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        expected = "" if self.session is None else self.session.csrf
        if not expected or not hmac.compare_digest(values.pop("csrf", ""), expected):
            raise RefusedError(403, self._("This form has expired; open the page again and retry."))
        return values

    def now(self) -> datetime:
        return self.runtime.clock()


Handler = Callable[[Page], Awaitable[Response]]


def page(runtime: Runtime, envs: dict[str, Any], handler: Handler, public: bool = False) -> Any:
    """A Starlette endpoint for `handler`: a stranger is sent to sign in (unless public)."""

    async def endpoint(request: Request) -> Response:
        language = i18n.negotiate(
            request.cookies.get(i18n.COOKIE), request.headers.get("accept-language")
        )
        cookie = request.cookies.get(SESSION_COOKIE)
        session = None
        if cookie:
            users = runtime.users
            assert users is not None
            session = await run_in_threadpool(users.session, cookie, runtime.clock())
        current = Page(request, runtime, session, language, envs)
        if session is None and not public:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return current.redirect("/sign-in?" + urlencode({"next": target}))
        try:
            return await handler(current)
        except RefusedError as refusal:
            return current.refused(refusal)

    return endpoint


def local(target: str | None, default: str = "/contacts") -> str:
    """A redirect target on this site only (never `//elsewhere` or `https://…`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def new_token() -> str:
    return secrets.token_urlsafe(32)


def secure(request: Request) -> bool:
    """Cookies are Secure when the page was asked for over TLS (behind a proxy: with
    `--proxy-headers`, uvicorn takes the scheme from X-Forwarded-Proto)."""
    return request.url.scheme == "https"
