"""Fixtures for every deal kind's tests: the orders fixtures (shops, SKUs, buyer, pay)."""

from shoploop.orders.tests.conftest import (  # noqa: F401  (re-exported fixtures)
    address_fields,
    buyer,
    committed,
    make_address,
    make_sku,
    merchant,
    other_merchant,
    other_shop,
    pay,
    shop,
    sku,
)
