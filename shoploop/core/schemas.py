"""API schema bases: what clients see as ``id`` is always the public id, never a database key."""

from collections.abc import Mapping

from ninja import Schema
from ninja.schema import DjangoGetter
from pydantic import model_validator


class PublicSchema(Schema):
    id: str

    @staticmethod
    def resolve_id(obj) -> str:
        return obj.public_id


class InputSchema(Schema):
    """Every request body (and object inside one) is a JSON object.

    ninja's ``Schema`` reads its fields with ``getattr`` from whatever it is given, so without this
    a JSON array (``[]``) or a number "validates" as an object whose fields all take their
    defaults: a flash buy with body ``[]`` bought one item. Refusing anything but a mapping makes
    such a body a 422 like any other invalid input.
    """

    @model_validator(mode="before")
    @classmethod
    def _must_be_an_object(cls, value):
        given = value._obj if isinstance(value, DjangoGetter) else value
        if isinstance(given, Mapping | cls):
            return value
        raise ValueError("must be a JSON object")


def rate_limited_response(description: str) -> dict:
    """``openapi_extra`` for an operation that answers 429 ``rate_limited`` (an ``ErrorOut``)."""
    return {
        "responses": {
            429: {
                "description": description,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}
                },
            }
        }
    }
