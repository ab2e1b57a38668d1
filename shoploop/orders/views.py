"""Cart, checkout and order pages (buyer and merchant). Thin: parse the form, call a service or
selector, render or redirect. A DomainError's message is shown on the page; 'not found' and 'not
yours' become the site's 404 and 403 pages."""

import csv
import secrets
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from shoploop.core import clock
from shoploop.core.errors import DomainError, NotFound, PermissionDenied
from shoploop.core.money import format_fen
from shoploop.orders import pickup_views, selectors, services
from shoploop.orders.carriers import Carrier
from shoploop.orders.models import MAX_AFTER_SALE_PHOTOS, AfterSale, Order
from shoploop.web.confirm import confirmation_page, is_confirmed


def _int(value) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _cart_owner(request, *, create: bool = False) -> dict:
    """Who owns the cart: the user, or (anonymous) the key stored in the session's data, which
    survives sign-in's key rotation so the cart can be merged."""
    if request.user.is_authenticated:
        return {"user": request.user}
    key = request.session.get(services.CART_SESSION_FIELD)
    if key is None and create:
        key = secrets.token_urlsafe(24)
        request.session[services.CART_SESSION_FIELD] = key
    return {"session_key": key}


# --- cart -------------------------------------------------------------------------------------


def cart(request):
    # Coupons, the address and the amount to pay are chosen on the confirm step (cart_confirm).
    view = selectors.cart_view(**_cart_owner(request))
    return render(request, "orders/cart.html", {"cart": view, "nav_active": "cart"})


@require_POST
def cart_add(request):
    try:
        services.add_to_cart(
            **_cart_owner(request, create=True),
            sku_public_id=request.POST.get("sku_id", ""),
            quantity=_int(request.POST.get("quantity", "1")),
        )
        messages.success(request, _("Added to your cart."))
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("orders:cart")


@require_POST
def cart_update(request, sku_id):
    try:
        if request.POST.get("remove"):
            services.remove_from_cart(**_cart_owner(request), sku_public_id=sku_id)
        else:
            services.set_cart_quantity(
                **_cart_owner(request),
                sku_public_id=sku_id,
                quantity=_int(request.POST.get("quantity")),
            )
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("orders:cart")


def _choices(data) -> dict:
    """The confirm step's choices from a query or a form: coupons, address, delivery method.
    ``coupons`` is None until the buyer chose (then each shop's best coupon is preselected)."""
    coupons = None
    if data.get("chosen"):
        coupons = {
            name.removeprefix("coupon_"): value
            for name, value in data.items()
            if name.startswith("coupon_")
        }
    address = data.get("address", "")
    delivery_method = data.get("delivery_method") or Order.DeliveryMethod.DELIVERY
    pickup_point = data.get("pickup_point", "")
    # The page lists pickup points among the addresses, as "pickup:<point id>" (one choice).
    if address.startswith(services.PICKUP_PREFIX):
        delivery_method = Order.DeliveryMethod.PICKUP
        pickup_point = address.removeprefix(services.PICKUP_PREFIX)
        address = ""
    return {
        "coupons": coupons,
        "address_public_id": address,
        "delivery_method": delivery_method,
        "pickup_point_public_id": pickup_point if delivery_method == "pickup" else "",
    }


def _confirm_query(quote) -> str:
    query = {"chosen": "1"}
    if quote.pickup_point is not None:
        query["address"] = services.PICKUP_PREFIX + quote.pickup_point.public_id
    elif quote.address is not None:
        query["address"] = quote.address.public_id
    query.update({f"coupon_{g.shop.public_id}": g.coupon_claim_id for g in quote.groups})
    return urlencode(query)


@login_required
def cart_confirm(request):
    """Confirm before paying: lines with their options, delivery, the address, the coupons with
    their discount in the total, and the amount to pay. Nothing is reserved or charged here."""
    try:
        quote = selectors.checkout_quote(buyer=request.user, **_choices(request.GET))
    except DomainError as error:
        messages.error(request, error.message)
        if request.GET.get("chosen"):
            # A stale choice (a coupon used meanwhile, an address deleted): start again from
            # the defaults, which fail only for the cart itself (then back to the cart).
            return redirect("orders:confirm")
        return redirect("orders:cart")
    here = f"{reverse('orders:confirm')}?{_confirm_query(quote)}"
    return render(
        request,
        "orders/confirm.html",
        {
            "quote": quote,
            "here": here,
            "pickup_prefix": services.PICKUP_PREFIX,
            # A fresh one-time token per render: posting it twice (a double-click) is one checkout.
            "checkout_token": secrets.token_urlsafe(16),
            "nav_active": "cart",
        },
    )


@login_required
@require_POST
def checkout(request):
    """The confirm page's one-time token is the idempotency key: a double-click (or a resubmit)
    makes one checkout and lands on the same payment."""
    token = request.POST.get("token", "").strip()
    if not token:
        # Without the confirm page's token every such post would share one key and replay an
        # old checkout: send the buyer back to confirm instead.
        messages.error(request, _("Please confirm your order again."))
        return redirect("orders:confirm")
    choices = _choices(request.POST)
    try:
        checkout_row, _replayed = services.checkout_idempotently(
            buyer=request.user,
            key=f"page:{token}",
            coupons={shop: claim for shop, claim in (choices["coupons"] or {}).items() if claim},
            address_public_id=choices["address_public_id"],
            delivery_method=choices["delivery_method"],
            pickup_point_public_id=choices["pickup_point_public_id"],
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("orders:confirm")
    return redirect(selectors.pay_url(checkout=checkout_row))


# --- buyer's orders ---------------------------------------------------------------------------


@login_required
def order_list(request):
    state = request.GET.get("state", "")
    tab = request.GET.get("tab", "")
    orders = selectors.buyer_orders(buyer=request.user, state=state or None, tab=tab or None)
    return render(
        request,
        "orders/order_list.html",
        {
            "orders": orders[:100],
            "state": state,
            "states": Order.State.choices,
            "tab": tab,
            "tabs": selectors.BUYER_TABS.items(),
            "nav_active": "me",
        },
    )


# A pickup order's code is shown while it can still be collected.
PICKUP_CODE_STATES = (Order.State.PAID, Order.State.SHIPPED)


@login_required
def order_detail(request, order_id):
    order = selectors.order_detail(public_id=order_id, viewer=request.user)
    is_buyer = order.buyer_id == request.user.pk
    return render(
        request,
        "orders/order_detail.html",
        {
            "order": order,
            "is_buyer": is_buyer,
            "addresses": (
                list(selectors.addresses_of(user=request.user))
                if is_buyer
                and not order.is_pickup
                and order.state in services.ADDRESS_CHANGEABLE_STATES
                else []
            ),
            # The code is the buyer's to show at the point; only they see it (and its QR).
            "pickup_qr": (
                pickup_views.pickup_qr_svg(request, order)
                if is_buyer and order.is_pickup and order.state in PICKUP_CODE_STATES
                else ""
            ),
            "is_merchant": order.shop.owner_id == request.user.pk,
            "after_sale_kinds": AfterSale.Kind.choices,
            "carriers": Carrier.choices,
            "after_sale_reasons": AfterSale.Reason.choices,
            "max_photos": MAX_AFTER_SALE_PHOTOS,
            "answer_hours": services.answer_hours(),
            "can_request_after_sale": selectors.can_request_after_sale(order=order),
            "nav_active": "me",
        },
    )


@login_required
def order_pay(request, order_id):
    """The "pay" button of an unpaid order: to the cashier for its whole checkout. A POST makes
    a new payment attempt if the last one was declined or abandoned (services.retry_payment);
    a GET only follows the current attempt."""
    order = selectors.order_for_viewer(public_id=order_id, viewer=request.user)
    if order.buyer_id != request.user.pk:
        raise PermissionDenied()
    if order.state != Order.State.PENDING_PAYMENT:
        return redirect("orders:detail", order_id=order.public_id)
    if request.method == "POST":
        try:
            checkout_row = services.retry_payment(order=order, actor=request.user)
        except DomainError as error:
            if isinstance(error, NotFound | PermissionDenied):
                raise
            messages.error(request, error.message)
            return redirect("orders:detail", order_id=order.public_id)
        return redirect(selectors.pay_url(checkout=checkout_row))
    if not selectors.payment_is_open(checkout=order.checkout):
        return redirect("orders:detail", order_id=order.public_id)
    return redirect(selectors.pay_url(checkout=order.checkout))


def _order_action(request, order_id, action, success_message):
    order = selectors.order_for_viewer(public_id=order_id, viewer=request.user)
    try:
        action(order)
        messages.success(request, success_message)
    except DomainError as error:
        if isinstance(error, NotFound | PermissionDenied):
            raise
        messages.error(request, error.message)
    return redirect("orders:detail", order_id=order.public_id)


@login_required
@require_POST
def order_cancel(request, order_id):
    return _order_action(
        request,
        order_id,
        lambda order: services.cancel_order(order=order, actor=request.user),
        _("The order was cancelled."),
    )


@login_required
@require_POST
def order_change_address(request, order_id):
    return _order_action(
        request,
        order_id,
        lambda order: services.change_order_address(
            order=order, actor=request.user, address_public_id=request.POST.get("address", "")
        ),
        _("The delivery address was changed."),
    )


@login_required
@require_POST
def order_receive(request, order_id):
    if not is_confirmed(request):
        order = selectors.order_for_viewer(public_id=order_id, viewer=request.user)
        return confirmation_page(
            request,
            question=_("Did you receive everything in good order?"),
            details=_("The shop is paid once the after-sale window closes."),
            button=_("Yes, confirm receipt"),
            cancel_url=reverse("orders:detail", args=[order.public_id]),
        )
    return _order_action(
        request,
        order_id,
        lambda order: services.confirm_receipt(order=order, actor=request.user),
        _("Thanks! Receipt confirmed."),
    )


@login_required
@require_POST
def order_ship(request, order_id):
    response = _order_action(
        request,
        order_id,
        lambda order: services.ship_order(
            order=order,
            actor=request.user,
            carrier=request.POST.get("carrier", ""),
            tracking_number=request.POST.get("tracking_number", ""),
        ),
        _("Marked as shipped."),
    )
    if request.POST.get("next") == "queue":
        return redirect("orders:merchant_to_ship")
    return response


# --- after-sale -------------------------------------------------------------------------------


def _after_sale_lines_from(request, order) -> list[dict]:
    """Each line's quantity field; the form pre-fills what was bought, 0 leaves a line out."""
    lines = []
    for line in order.lines.all():
        raw = request.POST.get(f"qty_{line.public_id}")
        if raw is None:
            continue
        if not raw.strip():
            continue  # an emptied field means none of this line, never "all of it"
        # Not a whole number: passed on as typed, so the service refuses it with a clear error.
        quantity = _int(raw)
        if quantity != 0:
            lines.append(
                {"line_id": line.public_id, "quantity": raw if quantity is None else quantity}
            )
    return lines


@login_required
@require_POST
def after_sale_request(request, order_id):
    order = selectors.order_for_viewer(public_id=order_id, viewer=request.user)
    try:
        after_sale = services.request_after_sale(
            order=order,
            actor=request.user,
            kind=request.POST.get("kind", ""),
            reason_code=request.POST.get("reason_code", ""),
            reason=request.POST.get("reason", ""),
            lines=_after_sale_lines_from(request, order),
            photos=request.FILES.getlist("photos"),
        )
    except DomainError as error:
        if isinstance(error, NotFound | PermissionDenied):
            raise
        messages.error(request, error.message)
        return redirect("orders:detail", order_id=order.public_id)
    messages.success(request, _("Your request was sent to the shop."))
    return redirect("orders:after_sale_detail", after_sale_id=after_sale.public_id)


@login_required
def after_sale_detail(request, after_sale_id):
    after_sale = selectors.after_sale_for_viewer(public_id=after_sale_id, viewer=request.user)
    order = after_sale.order
    return render(
        request,
        "orders/after_sale_detail.html",
        {
            "after_sale": after_sale,
            "order": order,
            "is_buyer": order.buyer_id == request.user.pk,
            "is_merchant": order.shop.owner_id == request.user.pk,
            "return_address": selectors.return_address_for(after_sale=after_sale),
            "can_escalate": selectors.can_escalate_after_sale(after_sale=after_sale),
            "nav_active": "me",
        },
    )


def _after_sale_back(after_sale, back: str):
    if back == "queue":
        return redirect("orders:merchant_after_sales")
    return redirect("orders:after_sale_detail", after_sale_id=after_sale.public_id)


def _after_sale_action(request, after_sale_id, action, success_message, *, back, confirm=None):
    """Run ``action`` on the request; with ``confirm`` (question, button), a POST without
    ``confirm=1`` only shows the confirmation page and changes nothing."""
    after_sale = selectors.after_sale_for_viewer(public_id=after_sale_id, viewer=request.user)
    if confirm is not None and not is_confirmed(request):
        question, button = confirm
        return confirmation_page(
            request,
            question=question,
            details=_("%(amount)s to the buyer for order %(order)s.")
            % {"amount": format_fen(after_sale.amount_fen), "order": after_sale.order.public_id},
            button=button,
            cancel_url=reverse("orders:after_sale_detail", args=[after_sale.public_id]),
            keep=("next",),
        )
    try:
        done = action(after_sale)
        messages.success(
            request, success_message(done) if callable(success_message) else success_message
        )
    except DomainError as error:
        if isinstance(error, NotFound | PermissionDenied):
            raise
        messages.error(request, error.message)
    return _after_sale_back(after_sale, back)


@login_required
@require_POST
def after_sale_escalate(request, after_sale_id):
    return _after_sale_action(
        request,
        after_sale_id,
        lambda item: services.escalate_after_sale(after_sale=item, actor=request.user),
        _("The platform will look at your request."),
        back="after_sale",
    )


def _accepted_message(after_sale) -> str:
    if after_sale.state == AfterSale.State.ACCEPTED:
        return _("Accepted: the buyer will send the goods back to your return address.")
    return _("Refunded.")


@login_required
@require_POST
def after_sale_accept(request, after_sale_id):
    return _after_sale_action(
        request,
        after_sale_id,
        lambda item: services.accept_after_sale(after_sale=item, actor=request.user),
        _accepted_message,
        back=request.POST.get("next", "queue"),
        confirm=(_("Accept this after-sale request?"), _("Yes, accept")),
    )


@login_required
@require_POST
def after_sale_reject(request, after_sale_id):
    return _after_sale_action(
        request,
        after_sale_id,
        lambda item: services.reject_after_sale(
            after_sale=item, actor=request.user, reason=request.POST.get("reason", "")
        ),
        _("The request was rejected."),
        back=request.POST.get("next", "queue"),
    )


@login_required
@require_POST
def after_sale_ship_return(request, after_sale_id):
    return _after_sale_action(
        request,
        after_sale_id,
        lambda item: services.ship_return(
            after_sale=item,
            actor=request.user,
            carrier=request.POST.get("carrier", ""),
            tracking_number=request.POST.get("tracking_number", ""),
        ),
        _("Thanks! The shop will be told that the goods are on their way back."),
        back="after_sale",
    )


@login_required
@require_POST
def after_sale_confirm_return(request, after_sale_id):
    return _after_sale_action(
        request,
        after_sale_id,
        lambda item: services.confirm_return_received(after_sale=item, actor=request.user),
        _("Refunded."),
        back=request.POST.get("next", "queue"),
        confirm=(
            _("Did you receive the returned goods? The buyer is refunded now."),
            _("Yes, refund"),
        ),
    )


@login_required
@require_POST
def after_sale_dispute(request, after_sale_id):
    return _after_sale_action(
        request,
        after_sale_id,
        lambda item: services.dispute_return(
            after_sale=item, actor=request.user, reason=request.POST.get("reason", "")
        ),
        _("The platform will decide about the returned goods."),
        back=request.POST.get("next", "queue"),
    )


# --- merchant ---------------------------------------------------------------------------------


def _queue(request, *, shop, posted=None, error=None):
    orders = list(selectors.to_ship(shop=shop)[: services.MAX_SHIPMENTS_AT_ONCE])
    chosen = set(posted.getlist("order")) if posted else set()
    for order in orders:
        # What the merchant typed stays on the page when the batch is refused.
        order.form_checked = order.public_id in chosen
        order.form_carrier = posted.get(f"carrier_{order.public_id}", "") if posted else ""
        order.form_tracking = posted.get(f"tracking_{order.public_id}", "") if posted else ""
    return render(
        request,
        "orders/merchant_to_ship.html",
        {
            "shop": shop,
            "orders": orders,
            "carriers": Carrier.choices,
            "error": error,
            "nav_active": "me",
        },
        status=422 if error else 200,
    )


@login_required
def merchant_to_ship(request):
    """Paid orders waiting to ship, oldest first, with their addresses."""
    return _queue(request, shop=selectors.merchant_shop(user=request.user))


@login_required
@require_POST
def merchant_ship_selected(request):
    """Ship the ticked orders, each with its carrier and number; bad input ships nothing and
    the page keeps what was typed."""
    shop = selectors.merchant_shop(user=request.user)
    shipments = [
        {
            "order_id": order_id,
            "carrier": request.POST.get(f"carrier_{order_id}", ""),
            "tracking_number": request.POST.get(f"tracking_{order_id}", ""),
        }
        for order_id in request.POST.getlist("order")
    ]
    try:
        outcomes = services.ship_orders(shop=shop, actor=request.user, shipments=shipments)
    except DomainError as error:
        if isinstance(error, PermissionDenied):
            raise
        order_id = error.fields.get("order_id")
        message = f"{order_id}: {error.message}" if order_id else error.message
        return _queue(request, shop=shop, posted=request.POST, error=message)
    shipped = [order_id for order_id, outcome in outcomes.items() if outcome == "shipped"]
    if shipped:
        messages.success(
            request,
            ngettext("%(count)d order shipped.", "%(count)d orders shipped.", len(shipped))
            % {"count": len(shipped)},
        )
    for order_id, outcome in outcomes.items():
        if outcome != "shipped":
            messages.error(
                request, _("%(order)s was not shipped: it is no longer paid.") % {"order": order_id}
            )
    return redirect("orders:merchant_to_ship")


def _packing_orders(request):
    shop = selectors.merchant_shop(user=request.user)
    return shop, selectors.packing_list(shop=shop, order_ids=request.GET.getlist("order"))


@login_required
def merchant_packing_list(request):
    """A printable packing list of the chosen orders (all paid orders if none is chosen)."""
    shop, orders = _packing_orders(request)
    return render(
        request,
        "orders/packing_list.html",
        {"shop": shop, "orders": orders, "printed_at": clock.now(), "nav_active": "me"},
    )


@login_required
def merchant_packing_list_csv(request):
    _shop, orders = _packing_orders(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="packing-list.csv"'
    response.write("\ufeff")  # a BOM, so spreadsheet apps read the Chinese text as UTF-8
    writer = csv.writer(response)
    writer.writerow(
        [
            _("Order"),
            _("Paid at"),
            _("Recipient"),
            _("Phone"),
            _("Province"),
            _("City"),
            _("District"),
            _("Street address"),
            _("Postcode"),
            _("Items"),
            _("Total (yuan)"),
        ]
    )
    for order in orders:
        items = "; ".join(
            f"{line.title}{f' ({line.options_label})' if line.options_label else ''} × "
            f"{line.to_ship_quantity}"
            for line in order.lines.all()
            if line.to_ship_quantity
        )
        # A pickup order goes to its point: the buyer's name and the point in place of an address.
        pickup = (
            f"{_('Pickup point')}: {order.pickup_point.name} · {order.pickup_point.address}"
            if order.is_pickup
            else ""
        )
        writer.writerow(
            _csv_safe(value)
            for value in (
                order.public_id,
                order.paid_at.isoformat() if order.paid_at else "",
                str(order.buyer) if order.is_pickup else order.ship_recipient,
                order.ship_national_phone,
                order.ship_province,
                order.ship_city,
                order.ship_district,
                pickup or order.ship_street,
                order.ship_postcode,
                items,
                f"{order.total_fen // 100}.{order.total_fen % 100:02d}",
            )
        )
    return response


def _csv_safe(value: str) -> str:
    """Buyers type names and streets: a cell starting like a formula is kept as text."""
    text = str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@login_required
def merchant_after_sales(request):
    shop = selectors.merchant_shop(user=request.user)
    return render(
        request,
        "orders/merchant_after_sales.html",
        {
            "shop": shop,
            "after_sales": selectors.shop_after_sales(shop=shop)[:200],
            "nav_active": "me",
        },
    )
