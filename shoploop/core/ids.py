"""Public ids: random, URL-safe, unique. URLs and the API never show database keys."""

import secrets

from django.db import models

PUBLIC_ID_LENGTH = 12
_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O/1/l/I


def new_public_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))


class PublicIdField(models.CharField):
    """A unique random id assigned at creation; ~70 bits, so collisions are not a practical concern
    and the unique index turns the impossible one into an error rather than a silent overwrite."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", PUBLIC_ID_LENGTH)
        kwargs.setdefault("unique", True)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("default", new_public_id)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        for key, value in (
            ("max_length", PUBLIC_ID_LENGTH),
            ("unique", True),
            ("editable", False),
            ("default", new_public_id),
        ):
            if kwargs.get(key) == value:
                kwargs.pop(key)
        return name, "shoploop.core.ids.PublicIdField", args, kwargs


class PublicModel(models.Model):
    """Base for every model that appears in a URL or the API."""

    public_id = PublicIdField()

    class Meta:
        abstract = True
