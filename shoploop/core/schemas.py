"""API schema bases: what clients see as ``id`` is always the public id, never a database key."""

from ninja import Schema


class PublicSchema(Schema):
    id: str

    @staticmethod
    def resolve_id(obj) -> str:
        return obj.public_id
