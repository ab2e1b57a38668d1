"""Every write of the orders app, one module per part: ``cart``, ``pickup`` (pickup points
and the buyer's choice of one), ``placement`` (checkout),
``payment`` (outcomes), ``fulfilment``, ``after_sale``, ``deal_orders`` and ``deadlines``
(``_base`` holds what they share). Callers import this package (``from shoploop.orders import
services``); every name of the parts is re-exported here, so ``services.checkout(...)`` and the
rest stay where they were.

Locking order (no deadlocks): a checkout row, then its orders in primary-key order; services that
touch one paid order lock only that order. Every state change re-reads the row under its lock.

Money (see /tmp/money_contract.md, steps 1, 3, 4, 5):
- Paying moves the order total from the payment's escrow to the shop's merchant_pending account as
  a HOLD (pending transfer) keyed ``order:<id>:hold`` (a re-hold after a partial refund gets
  ``:<n>``).
- Completion posts the hold, then splits the net amount: the platform fee is
  ``net * fee_rate_bps // 10000`` — rounded DOWN, so the merchant keeps any fraction of a fen
  (999 fen at 500 bps → fee 49, merchant 950).
- A refund voids the hold, re-holds what is left, then asks payments to refund from the escrow.
Every transfer has a key derived from its cause, so a retry never moves money twice.
"""

# ruff: noqa: F401
# What the one services.py module imported stays reachable as ``services.<name>`` too (callers
# and tests use e.g. ``services.DomainError`` and ``services.CartLine``).
import logging
from collections.abc import Callable
from contextlib import suppress
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from shoploop.catalog import services as catalog_services
from shoploop.catalog.models import SKU, Shop
from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
    DomainError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from shoploop.core.events import publish
from shoploop.core.idempotency import fingerprint_of, run_idempotent
from shoploop.core.ids import new_public_id
from shoploop.core.images import prepared_image, save_with_image
from shoploop.core.text import clean_text
from shoploop.coupons import services as coupon_services
from shoploop.ledger.errors import PaymentStateConflict
from shoploop.ledger.models import AccountKind, Payment, Transfer
from shoploop.ledger.services import TransferSpec, open_account, payments, transfer, transfer_linked
from shoploop.ledger.services import post_hold as ledger_post_hold
from shoploop.ledger.services import void_hold as ledger_void_hold
from shoploop.orders import address_services, carriers
from shoploop.orders.models import (
    CARRIER_MAX_LENGTH,
    MAX_AFTER_SALE_PHOTOS,
    MAX_QUANTITY,
    MIN_QUANTITY,
    NOTE_AUTO_REFUND_NO_ANSWER,
    NOTE_AUTO_REFUND_RETURN,
    NOTE_NOTHING_TO_REFUND,
    NOTE_REFUND_ACCEPTED,
    NOTE_REFUNDED_BEFORE_SHIPPING,
    NOTE_RETURN_RECEIVED,
    REASON_MAX_LENGTH,
    TRACKING_MAX_LENGTH,
    Address,
    AfterSale,
    AfterSaleLine,
    AfterSalePhoto,
    Cart,
    CartLine,
    Checkout,
    Order,
    OrderEvent,
    OrderLine,
)
from shoploop.orders.services._base import (
    BPS_PER_WHOLE,
    CART_SESSION_FIELD,
    DEAL_OWNED_STATES,
    MAX_COUPONS_PER_CHECKOUT,
    SETTLE_BATCH_SIZE,
    _publish,
    _quantity,
    _record,
    _require_buyer,
    _require_merchant,
    _require_operator,
    _require_user,
    after_sale_days,
    auto_receive_days,
    logger,
    reservation_minutes,
)
from shoploop.orders.services.after_sale import (
    PHOTO_MAX_SIDE,
    _accept_return,
    _all_refundable_lines,
    _clean_kind,
    _clean_reason,
    _clean_refund_lines,
    _escalate,
    _execute_refund,
    _line_refund_amount,
    _locked_after_sale,
    _prepared_photos,
    _refundable,
    _rehold_remainder,
    _require_state,
    _set_state,
    _settle_due_after_sale,
    _settle_due_in_checkout,
    _store_photos,
    _unship_refunded_units,
    _within_after_sale_window,
    accept_after_sale,
    add_after_sale_photo,
    after_sale_possible,
    answer_hours,
    confirm_return_received,
    decide_escalated_after_sale,
    dispute_return,
    escalate_after_sale,
    reject_after_sale,
    request_after_sale,
    return_auto_refund_days,
    return_ship_days,
    settle_after_sale_deadlines,
    ship_return,
)
from shoploop.orders.services.cart import (
    _cart_filter,
    _locked_cart,
    _purchasable_sku,
    _require_on_sale,
    _within_stock,
    add_to_cart,
    cart_for,
    merge_session_cart,
    remove_from_cart,
    set_cart_quantity,
)
from shoploop.orders.services.deadlines import (
    auto_receive_shipped,
    complete_due_orders,
    expire_unpaid_checkouts,
)
from shoploop.orders.services.deal_orders import (
    cancel_deal_order,
    confirm_deal_order,
    confirm_deal_orders,
    place_deal_order,
    settle_deal_payment,
)
from shoploop.orders.services.fulfilment import (
    ADDRESS_CHANGEABLE_STATES,
    MAX_SHIPMENTS_AT_ONCE,
    _cancel_paid,
    _current_hold,
    _locked,
    _mark_received,
    _planned_shipments,
    _settle_hold,
    _void_current_hold,
    cancel_order,
    change_order_address,
    collect_pickup,
    complete_order,
    confirm_receipt,
    platform_fee,
    ship_order,
    ship_orders,
)
from shoploop.orders.services.leader_commissions import (
    accrue_leader_commission,
    leader_beneficiary_ref,
    leader_commission_at_completion,
    release_leader_commission,
    release_leader_commissions_due,
    sync_leader_refunds,
)
from shoploop.orders.services.payment import (
    _cancel_payment_if_nothing_left,
    _cancel_unpaid,
    _cancel_unpaid_orders,
    _deal_stock_owners,
    _escrow,
    _give_back_deal_units,
    _hold_key,
    _lock_payment_of,
    _mark_paid,
    _merchant_account,
    _payment_of,
    _refund,
    _refund_late_payment,
    _release_stock,
    _restore_to_cart,
    _settle_captured_payment,
    record_payment_failure,
    record_payment_success,
    register_deal_stock_owner,
    retry_payment,
)
from shoploop.orders.services.pickup import (
    PICKUP_PREFIX,
    create_pickup_point,
    new_pickup_code,
    normalize_pickup_code,
    pickup_destination,
    require_point_leader,
    shop_pickup_settings,
    update_pickup_point,
    update_shop_pickup_settings,
)
from shoploop.orders.services.placement import (
    _allocate_discount,
    _claim_lines,
    _claimable_lines,
    _create_order,
    _reserve,
    buyer_address,
    capped_discount,
    checkout,
    checkout_idempotently,
    clean_coupons,
    clean_delivery_method,
    group_by_shop,
    shipping_fields,
)
