"""The OpenAPI document: valid 3.1, and complete for every route the app serves."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

import pytest
from openapi_spec_validator import validate
from starlette.routing import Route
from starlette.testclient import TestClient

from adapters.http.asgi import create_http_app
from adapters.http.endpoint import Context, Endpoint, Reply
from adapters.http.openapi import openapi_document, problem_statuses
from adapters.http.routes import ENDPOINTS
from adapters.web.routes import web_routes
from tests.http.conftest import Api

REF = "#/components/schemas/"


@pytest.fixture
def document(api: Api) -> dict[str, Any]:
    response = api.client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def operation(document: dict[str, Any], endpoint: Endpoint) -> dict[str, Any]:
    return document["paths"][endpoint.path][endpoint.method.lower()]  # type: ignore[no-any-return]


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_route_and_method_the_app_serves_is_documented(
    api: Api, document: dict[str, Any]
) -> None:
    pages = {r.path for r in web_routes(api.system.runtime) if isinstance(r, Route)}
    served = {
        (method, route.path)
        for route in api.system.http.routes
        if isinstance(route, Route) and route.path not in pages  # the back office's
        for method in route.methods or ()
        if method != "HEAD"  # Starlette answers HEAD wherever GET is served
    }
    documented = {(m.upper(), path) for path, item in document["paths"].items() for m in item}
    assert served == documented


def test_every_body_and_response_model_is_the_endpoints(document: dict[str, Any]) -> None:
    for endpoint in ENDPOINTS:
        op = operation(document, endpoint)
        if endpoint.upload:
            form = op["requestBody"]["content"]["multipart/form-data"]["schema"]
            assert endpoint.body is not None
            fields = set(endpoint.body.model_fields)
            assert set(form["properties"]) == {"file", *fields}
            assert form["properties"]["file"]["format"] == "binary"
        elif endpoint.body is not None:
            body = op["requestBody"]["content"]["application/json"]["schema"]
            assert body == {"$ref": REF + endpoint.body.__name__}
        content = op["responses"][str(endpoint.status)]["content"]
        if endpoint.response is not None:
            assert content["application/json"]["schema"] == {
                "$ref": REF + endpoint.response.__name__
            }
        else:
            assert list(content) == [endpoint.media_type.split(";")[0]], endpoint.path


def test_every_problem_the_endpoint_can_answer_is_problem_json(document: dict[str, Any]) -> None:
    for endpoint in ENDPOINTS:
        responses = operation(document, endpoint)["responses"]
        problems = {int(s) for s in responses if int(s) >= 400}
        assert problems == problem_statuses(endpoint)
        for status in problems:
            schema = responses[str(status)]["content"]["application/problem+json"]["schema"]
            assert schema == {"$ref": REF + "Problem"}


def test_each_operation_states_the_roles_that_may_call_it(document: dict[str, Any]) -> None:
    for endpoint in ENDPOINTS:
        roles = ", ".join(sorted(r.value for r in endpoint.roles))
        assert f"Roles: {roles}." in operation(document, endpoint)["description"]


def test_every_declared_parameter_is_documented(document: dict[str, Any]) -> None:
    for endpoint in ENDPOINTS:
        listed = {(p["in"], p["name"]) for p in operation(document, endpoint)["parameters"]}
        declared = {("path", name) for name in endpoint.path_parameters}
        declared |= {("query", p.name) for p in endpoint.query_parameters}
        assert {p for p in listed if p[0] in ("path", "query")} == declared, endpoint.path


def test_an_undeclared_query_parameter_is_refused_everywhere(api: Api) -> None:
    for endpoint in ENDPOINTS:
        path = re.sub(r"{\w+}", "00000000-0000-0000-0000-000000000000", endpoint.path)
        response = api.call(endpoint.method, path, params={"colour": "red"})
        assert response.status_code == 422, (endpoint.method, path)  # type: ignore[attr-defined]
        assert "colour" in response.json()["detail"]  # type: ignore[attr-defined]


def test_every_schema_reference_resolves(document: dict[str, Any]) -> None:
    names = set(re.findall(r"#/components/schemas/(\w+)", str(document)))
    assert names <= set(document["components"]["schemas"])


class FormKind(StrEnum):
    CONTACT = "contact"
    REGISTRATION = "registration"


def echo_form(ctx: Context) -> Reply:
    return Reply({"form": ctx.path["form"], "is_kind": isinstance(ctx.path["form"], FormKind)})


FORMS = Endpoint(
    "POST", "/v1/forms/{form}/submissions", echo_form, "Take a form", path_params={"form": FormKind}
)


def test_a_path_parameter_can_have_a_type_other_than_uuid(api: Api) -> None:
    parameters = openapi_document((FORMS,))["paths"][FORMS.path]["post"]["parameters"]
    assert parameters[0]["schema"]["enum"] == ["contact", "registration"]
    system = api.system
    client = TestClient(create_http_app(system.runtime, (FORMS,)))
    headers = api.as_("admin")
    answer = client.post("/v1/forms/registration/submissions", headers=headers)
    assert answer.json() == {"form": "registration", "is_kind": True}
    refused = client.post("/v1/forms/newsletter/submissions", headers=headers)
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("form:")


def test_a_declared_path_parameter_must_be_in_the_path() -> None:
    with pytest.raises(ValueError, match="no parameter"):
        Endpoint("POST", "/v1/forms", echo_form, "Take a form", path_params={"form": FormKind})
