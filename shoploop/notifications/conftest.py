"""Fixtures for the notifications tests: the orders fixtures (shops, SKUs, buyer, pay)."""

from shoploop.orders.tests.conftest import (  # noqa: F401  (re-exported fixtures)
    buyer,
    committed,
    make_sku,
    merchant,
    pay,
    place,
    shop,
    sku,
)
