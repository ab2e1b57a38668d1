"""The OpenAPI document says what the API does: one name per schema, one readable id per
operation, and request bodies that are JSON objects."""

import re
import typing
from collections import defaultdict

import pytest
from pydantic import BaseModel

from shoploop.api import api

OPERATION_ID = re.compile(r"^[a-z]+(_[a-z0-9]+)+$")


def _operations():
    api.urls  # noqa: B018  ninja lists nested routers (deals/*) in _routers once its URLs exist
    for prefix, router in api._routers:
        for path, path_operation in router.path_operations.items():
            for operation in path_operation.operations:
                yield f"{prefix}{path}", operation


def _models_in(annotation) -> typing.Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from _models_in(argument)


def _nested_models(model: type[BaseModel], seen: set) -> None:
    for field in model.model_fields.values():
        for nested in _models_in(field.annotation):
            if nested not in seen:
                seen.add(nested)
                _nested_models(nested, seen)


def _schemas_by_name() -> dict[str, set[str]]:
    """Every model an operation reads or answers with (the wrappers ninja builds around the
    parameters and responses are not in the document, what they hold is)."""
    seen: set[type[BaseModel]] = set()
    for _path, operation in _operations():
        wrappers = [*operation.models, *operation.response_models.values()]
        for wrapper in wrappers:
            if isinstance(wrapper, type) and issubclass(wrapper, BaseModel):
                _nested_models(wrapper, seen)
    names = defaultdict(set)
    for model in seen:
        names[model.__name__].add(f"{model.__module__}.{model.__qualname__}")
    return names


def test_no_two_schemas_share_a_name():
    collisions = {name: where for name, where in _schemas_by_name().items() if len(where) > 1}
    assert collisions == {}


def test_the_walk_sees_the_schemas_that_once_collided():
    names = _schemas_by_name()
    for name in ("CommunityMemberOut", "GroupMemberOut", "GroupCampaignIn", "BargainCampaignIn"):
        assert len(names[name]) == 1, name


def test_operation_ids_are_unique_and_read_app_then_function():
    document = api.get_openapi_schema()
    ids = [
        operation["operationId"]
        for methods in document["paths"].values()
        for operation in methods.values()
    ]
    assert len(ids) == len(set(ids))
    assert [i for i in ids if not OPERATION_ID.match(i) or i.startswith("shoploop_")] == []
    assert "catalog_list_products" in ids
    assert "deals_groups_join_group" in ids
    assert "communities_member_approve" in ids


def _json_body_operations():
    document = api.get_openapi_schema()
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                yield method, path


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "nosuchthing0", path)


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["[]", "[{}]", "7", '"text"', "null"])
def test_a_body_that_is_not_an_object_is_refused_everywhere(client, make_user, make_token, body):
    headers = {"Authorization": f"Bearer {make_token(make_user())}"}
    operations = list(_json_body_operations())
    assert operations
    answers = {
        (method, path): getattr(client, method)(
            _fill(path), body, content_type="application/json", headers=headers
        ).status_code
        for method, path in operations
    }
    assert {key: status for key, status in answers.items() if status not in (400, 422)} == {}


def test_the_error_schema_names_are_not_taken_by_an_app():
    assert {"ErrorOut", "ErrorDetail"} & set(_schemas_by_name()) == set()


def test_every_operation_declares_its_errors_with_the_error_schema():
    document = api.get_openapi_schema()
    error_ref = {"$ref": "#/components/schemas/ErrorOut"}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            responses = operation["responses"]
            expected = {400, 403, 404, 409, 422}
            if operation.get("security"):
                expected.add(401)
            assert expected <= set(responses), (method, path)
            for status in expected:
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema == error_ref, (method, path, status)
    checkout = document["paths"]["/api/v1/orders/checkout"]["post"]["responses"]
    assert 429 in checkout
    assert 429 not in document["paths"]["/api/v1/catalog/products"]["get"]["responses"]


@pytest.mark.django_db
def test_a_path_that_only_other_methods_answer_gets_the_error_shape(client, make_user, make_token):
    """Found by the fuzzer: ``POST /flash-sales/shop/end`` is ``GET /flash-sales/shop/{sale_id}``
    with the id "end", so Django answered a bare 405 the document did not declare."""
    token = make_token(make_user())
    response = client.post(
        "/api/v1/deals/flash-sales/shop/end", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]
    document = client.get("/api/v1/openapi.json").json()
    end = document["paths"]["/api/v1/deals/flash-sales/{sale_id}/end"]["post"]
    assert "405" in end["responses"]
