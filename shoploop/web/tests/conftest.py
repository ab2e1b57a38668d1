"""Fixtures for the shell's page tests: the orders fixtures (shops, SKUs, a buyer, pay, place)."""

from shoploop.orders.tests.conftest import (  # noqa: F401  (re-exported fixtures)
    buyer,
    make_sku,
    merchant,
    pay,
    place,
    shop,
    sku,
)
