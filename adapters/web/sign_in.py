"""Signing in and out, and the language switch.

The sign-in form carries a token that must match a cookie set with the form (a page of
another site cannot read it, so it cannot sign a person in to an account of its choosing).
Failed sign-ins count against the client's address in the API's throttle: after its limit
the form answers 429 for a while, right password or not.
"""

from __future__ import annotations

import hmac

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from adapters.users import SESSION_HOURS
from adapters.web import i18n
from adapters.web.calls import RefusedError
from adapters.web.pages import (
    SESSION_COOKIE,
    SIGN_IN_CSRF_COOKIE,
    Page,
    local,
    new_token,
    secure,
)


async def home(page: Page) -> Response:
    return page.redirect("/contacts" if page.session is not None else "/sign-in")


async def sign_in_form(page: Page, error: str = "", status: int = 200, email: str = "") -> Response:
    token = new_token()
    response = page.render(
        "sign_in.html",
        status,
        token=token,
        error=error,
        email=email,
        next=local(page.request.query_params.get("next")),
    )
    response.set_cookie(
        SIGN_IN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure(page.request),
        path="/sign-in",
        max_age=3600,
    )
    return response


async def sign_in(page: Page) -> Response:
    form = await page.request.form(max_files=0, max_fields=10)
    values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    expected = page.request.cookies.get(SIGN_IN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(values.get("csrf", ""), expected):
        return await sign_in_form(page, page._("The form expired; please sign in again."), 403)
    runtime = page.runtime
    address = page.request.client.host if page.request.client else "unknown"
    wait = runtime.throttle.retry_after(address)
    if wait is not None:
        message = page._("Too many failed sign-ins; try again in %(seconds)s s.", seconds=wait)
        return await sign_in_form(page, message, 429)
    users = runtime.users
    assert users is not None
    email, password = values.get("email", ""), values.get("password", "")
    user = await run_in_threadpool(users.check_password, email, password)
    if user is None:
        runtime.throttle.failed(address)
        message = page._("Wrong e-mail address or password.")
        return await sign_in_form(page, message, 401, email=email)
    cookie, _session = await run_in_threadpool(users.open_session, user, page.now())
    response = page.redirect(local(values.get("next")))
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=secure(page.request),
        path="/",
        max_age=SESSION_HOURS * 3600,
    )
    response.delete_cookie(SIGN_IN_CSRF_COOKIE, path="/sign-in")
    return response


async def sign_out(page: Page) -> Response:
    await page.form()  # CSRF: no page elsewhere signs a person out
    cookie = page.request.cookies.get(SESSION_COOKIE)
    if cookie and page.runtime.users is not None:
        await run_in_threadpool(page.runtime.users.close_session, cookie)
    response = page.redirect("/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def switch_language(page: Page) -> Response:
    wanted = page.request.query_params.get("to", "")
    if wanted not in i18n.LANGUAGES:
        raise RefusedError(422, page._("Unknown language."))
    response = page.redirect(local(page.request.query_params.get("next"), "/"))
    response.set_cookie(i18n.COOKIE, wanted, samesite="lax", path="/", max_age=365 * 86400)
    return response
