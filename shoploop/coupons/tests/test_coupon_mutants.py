"""Cases mutation testing of coupons/services.py showed untested (docs/mutation.md): the exact
error each refusal gives (code, field code and the message people read), the events and their
payloads, and the edges of every range."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser

from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from shoploop.core.events import recorded_events
from shoploop.coupons import services
from shoploop.coupons.models import Coupon, CouponClaim


def _refusal(call):
    with pytest.raises((ValidationFailed, Conflict, NotFound, PermissionDenied)) as caught:
        call()
    error = caught.value
    return error.code, error.fields, str(error)


# --- create: every field's refusal, exactly ----------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "fields", "message"),
    [
        ({"name": None}, {"name": "not_text"}, "This must be text."),
        ({"name": "  "}, {"name": "required"}, "Give the coupon a name."),
        ({"name": "a\x00b"}, {"name": "invalid"}, "This text contains invalid characters."),
        (
            {"name": "x" * 41},
            {"name": "too_long"},
            "The name is too long (at most 40 characters).",
        ),
        (
            {"kind": "bogo"},
            {"kind": "invalid"},
            "Choose a fixed amount or a percentage off.",
        ),
        (
            {"kind": "percent", "percent_off": 12.5, "max_discount_fen": 100},
            {"percent_off": "not_integer"},
            "This must be a whole number.",
        ),
        (
            {"kind": "percent", "percent_off": True, "max_discount_fen": 100},
            {"percent_off": "not_integer"},
            "This must be a whole number.",
        ),
        (
            {"kind": "percent", "percent_off": 0, "max_discount_fen": 100},
            {"percent_off": "out_of_range"},
            "The percentage off must be between 1 and 90.",
        ),
        (
            {"kind": "percent", "percent_off": 91, "max_discount_fen": 100},
            {"percent_off": "out_of_range"},
            "The percentage off must be between 1 and 90.",
        ),
        (
            {"kind": "percent", "percent_off": 10, "max_discount_fen": None},
            {"max_discount_fen": "not_integer"},
            "The amount must be a whole number of fen.",
        ),
        (
            {"amount_off_fen": None},
            {"amount_off_fen": "not_integer"},
            "The amount must be a whole number of fen.",
        ),
        ({"min_spend_fen": -1}, {"min_spend_fen": "negative"}, "The amount cannot be negative."),
        (
            {"total_quantity": 1.5},
            {"total_quantity": "not_integer"},
            "This must be a whole number.",
        ),
        (
            {"total_quantity": True},
            {"total_quantity": "not_integer"},
            "This must be a whole number.",
        ),
        (
            {"total_quantity": 0},
            {"total_quantity": "out_of_range"},
            "This must be between 1 and 1000000.",
        ),
        (
            {"total_quantity": 1_000_001},
            {"total_quantity": "out_of_range"},
            "This must be between 1 and 1000000.",
        ),
        (
            {"per_user_limit": 101},
            {"per_user_limit": "out_of_range"},
            "This must be between 1 and 100.",
        ),
        (
            {"starts_at": "2030-01-01"},
            {"starts_at": "invalid"},
            "Give a date and time with its time zone.",
        ),
        (
            {"ends_at": "naive"},
            {"ends_at": "invalid"},
            "Give a date and time with its time zone.",
        ),
        (
            {"ends_at": "at-start"},
            {"ends_at": "before_start"},
            "The coupon must end after it starts.",
        ),
        ({"ends_at": "now"}, {"ends_at": "past"}, "The end must be in the future."),
    ],
)
def test_each_bad_field_is_refused_with_its_code_and_message(
    make_coupon, coupon_fields, overrides, fields, message
):
    now = clock.now()
    with clock.frozen_at(now):
        base = coupon_fields()
        if overrides.get("ends_at") == "naive":
            overrides = {"ends_at": base["ends_at"].replace(tzinfo=None)}
        elif overrides.get("ends_at") == "at-start":
            overrides = {"ends_at": base["starts_at"]}
        elif overrides.get("ends_at") == "now":
            overrides = {"starts_at": now - timedelta(days=1), "ends_at": now}
        code, got_fields, got_message = _refusal(lambda: make_coupon(**overrides))
    assert (code, got_fields, got_message) == ("invalid", fields, message)
    assert not Coupon.objects.exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": "x" * 40, "total_quantity": 1_000_000, "per_user_limit": 100},
        {"name": "  满50减10  ", "total_quantity": 1, "per_user_limit": 1, "min_spend_fen": 0},
        {"kind": "percent", "amount_off_fen": None, "percent_off": 1, "max_discount_fen": 1},
        {"kind": "percent", "amount_off_fen": None, "percent_off": 90, "max_discount_fen": 9},
    ],
)
def test_the_edges_of_every_range_are_accepted(make_coupon, overrides):
    coupon = make_coupon(**overrides)
    coupon.refresh_from_db()
    for field, value in overrides.items():
        stored = getattr(coupon, field)
        if field == "name":
            value = value.strip()
        if value is None:
            value = 0
        assert stored == value, field


def test_a_coupon_may_end_one_instant_after_it_starts_and_now(make_coupon):
    now = clock.now()
    with clock.frozen_at(now):
        coupon = make_coupon(
            starts_at=now - timedelta(microseconds=1), ends_at=now + timedelta(microseconds=1)
        )
    assert coupon.ends_at - coupon.starts_at == timedelta(microseconds=2)


def test_create_records_who_and_when_and_announces_it(make_coupon, merchant, shop):
    now = clock.now()
    with clock.frozen_at(now), recorded_events() as events:
        coupon = make_coupon()
    coupon.refresh_from_db()
    assert (coupon.created_by, coupon.created_at, coupon.claimed_count) == (merchant, now, 0)
    assert [(e.name, e.payload) for e in events] == [
        (
            "coupons.coupon.created",
            {
                "coupon_public_id": coupon.public_id,
                "shop_public_id": shop.public_id,
                "actor_public_id": merchant.public_id,
            },
        )
    ]


def test_refusals_of_who_acts_say_why(make_coupon, coupon_fields, other_merchant, make_user):
    assert _refusal(lambda: make_coupon(actor=other_merchant)) == (
        "not_shop_owner",
        {},
        "This is not your shop.",
    )
    with pytest.raises(NotAuthenticated):
        make_coupon(actor=AnonymousUser())
    from shoploop.catalog import services as catalog_services

    owner = make_user()
    pending = catalog_services.apply_for_shop(user=owner, name="新店", contact="微信 x")
    assert _refusal(
        lambda: services.create_coupon(actor=owner, shop=pending, **coupon_fields())
    ) == ("shop_not_approved", {}, "Your shop has not been approved yet.")


# --- pause / resume ------------------------------------------------------------------------------


def test_pause_and_resume_announce_themselves_and_say_why_they_refuse(coupon, merchant, shop, user):
    with recorded_events() as events:
        services.pause_coupon(coupon=coupon, actor=merchant)
        assert _refusal(lambda: services.pause_coupon(coupon=coupon, actor=merchant)) == (
            "coupon_already_paused",
            {},
            "This coupon is already paused.",
        )
        services.resume_coupon(coupon=coupon, actor=merchant)
        assert _refusal(lambda: services.resume_coupon(coupon=coupon, actor=merchant)) == (
            "coupon_not_paused",
            {},
            "This coupon is not paused.",
        )
    payload = {
        "coupon_public_id": coupon.public_id,
        "shop_public_id": shop.public_id,
        "actor_public_id": merchant.public_id,
    }
    assert [(e.name, e.payload) for e in events] == [
        ("coupons.coupon.paused", payload),
        ("coupons.coupon.resumed", payload),
    ]
    assert _refusal(lambda: services.pause_coupon(coupon=coupon, actor=user))[0] == (
        "not_shop_owner"
    )
    with pytest.raises(NotAuthenticated):
        services.pause_coupon(coupon=coupon, actor=AnonymousUser())


# --- claims --------------------------------------------------------------------------------------


def test_a_claim_records_its_number_limit_and_time_and_announces_it(make_coupon, user, shop):
    coupon = make_coupon(per_user_limit=3)
    now = clock.now()
    with clock.frozen_at(now), recorded_events() as events:
        claim = services.claim_coupon(coupon=coupon, user=user)
    claim.refresh_from_db()
    assert (claim.number, claim.user_limit, claim.claimed_at, claim.created_at) == (1, 3, now, now)
    assert (claim.order_ref, claim.redeemed_at, claim.discount_fen) == (None, None, 0)
    assert [(e.name, e.payload) for e in events] == [
        (
            "coupons.coupon.claimed",
            {
                "claim_public_id": claim.public_id,
                "coupon_public_id": coupon.public_id,
                "shop_public_id": shop.public_id,
                "user_public_id": user.public_id,
            },
        )
    ]


def test_claim_refusals_say_why(make_coupon, user, merchant, make_user):
    now = clock.now()
    coupon = make_coupon(total_quantity=1, per_user_limit=1)
    services.claim_coupon(coupon=coupon, user=user)
    assert _refusal(lambda: services.claim_coupon(coupon=coupon, user=make_user())) == (
        "coupon_sold_out",
        {},
        "All copies of this coupon have been claimed.",
    )
    roomy = make_coupon(name="roomy", total_quantity=5, per_user_limit=1)
    services.claim_coupon(coupon=roomy, user=user)
    assert _refusal(lambda: services.claim_coupon(coupon=roomy, user=user)) == (
        "coupon_limit_reached",
        {},
        "You already hold as many of this coupon as allowed (1).",
    )
    services.pause_coupon(coupon=roomy, actor=merchant)
    assert _refusal(lambda: services.claim_coupon(coupon=roomy, user=make_user())) == (
        "coupon_paused",
        {},
        "This coupon is paused by the shop.",
    )
    later = make_coupon(name="later", starts_at=now + timedelta(days=1))
    assert _refusal(lambda: services.claim_coupon(coupon=later, user=user)) == (
        "coupon_not_started",
        {},
        "This coupon is not valid yet.",
    )
    with clock.frozen_at(later.ends_at):
        assert _refusal(lambda: services.claim_coupon(coupon=later, user=user)) == (
            "coupon_expired",
            {},
            "This coupon has expired.",
        )
    with pytest.raises(NotAuthenticated):
        services.claim_coupon(coupon=coupon, user=None)


def test_claims_open_at_the_start_instant_and_close_at_the_end_instant(make_coupon, user):
    now = clock.now()
    coupon = make_coupon(
        starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2), per_user_limit=2
    )
    with clock.frozen_at(coupon.starts_at):
        assert services.claim_coupon(coupon=coupon, user=user).number == 1
    with clock.frozen_at(coupon.ends_at - timedelta(microseconds=1)):
        assert services.claim_coupon(coupon=coupon, user=user).number == 2
    coupon.refresh_from_db()
    assert coupon.claimed_count == 2


def test_the_last_copy_can_be_claimed(make_coupon, make_user):
    coupon = make_coupon(total_quantity=2)
    services.claim_coupon(coupon=coupon, user=make_user())
    services.claim_coupon(coupon=coupon, user=make_user())
    coupon.refresh_from_db()
    assert coupon.claimed_count == 2


def test_a_limit_reached_through_the_unique_number_is_refused_and_takes_no_copy(
    make_coupon, user, monkeypatch
):
    """Two claims of one user that counted the same number (a race): the unique (coupon, user,
    number) refuses the second insert, with the limit's code, and its copy is given back."""
    coupon = make_coupon(per_user_limit=2)
    services.claim_coupon(coupon=coupon, user=user)
    real = CouponClaim.objects

    class _CountsStale:
        def filter(self, *args, **kwargs):
            rows = real.filter(*args, **kwargs)
            if set(kwargs) == {"coupon", "user"}:
                return rows.none()  # the other claim had not committed when this one counted
            return rows

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(services.CouponClaim, "objects", _CountsStale())
    assert _refusal(lambda: services.claim_coupon(coupon=coupon, user=user)) == (
        "coupon_limit_reached",
        {},
        "You already hold as many of this coupon as allowed (2).",
    )
    monkeypatch.undo()
    coupon.refresh_from_db()
    assert coupon.claimed_count == 1
    assert CouponClaim.objects.filter(coupon=coupon, user=user).count() == 1


# --- the checkout contract -----------------------------------------------------------------------


def test_redeem_records_the_use_and_announces_it(claim, user, shop, coupon):
    now = clock.now()
    with clock.frozen_at(now), recorded_events() as events:
        discount = services.redeem(
            claim_public_id=claim.public_id,
            user=user,
            shop=shop,
            subtotal_fen=8000,
            order_ref="order:1",
        )
    claim.refresh_from_db()
    assert discount == 1000
    assert (claim.order_ref, claim.redeemed_at, claim.discount_fen) == ("order:1", now, 1000)
    assert [(e.name, e.payload) for e in events] == [
        (
            "coupons.coupon.redeemed",
            {
                "claim_public_id": claim.public_id,
                "coupon_public_id": coupon.public_id,
                "shop_public_id": shop.public_id,
                "user_public_id": user.public_id,
                "order_ref": "order:1",
                "discount_fen": 1000,
            },
        )
    ]


def test_release_gives_the_claim_back_and_announces_it(claim, user, shop, coupon):
    services.redeem(
        claim_public_id=claim.public_id, user=user, shop=shop, subtotal_fen=8000, order_ref="o:1"
    )
    with recorded_events() as events:
        assert services.release(order_ref="o:1") is True
        assert services.release(order_ref="o:1") is False
    claim.refresh_from_db()
    assert (claim.order_ref, claim.redeemed_at, claim.discount_fen) == (None, None, 0)
    assert [(e.name, e.payload) for e in events] == [
        (
            "coupons.coupon.released",
            {
                "claim_public_id": claim.public_id,
                "coupon_public_id": coupon.public_id,
                "user_public_id": user.public_id,
                "order_ref": "o:1",
            },
        )
    ]


def test_checkout_refusals_say_why(claim, user, other_user, shop, other_shop, coupon, merchant):
    def quote(**overrides):
        fields = dict(claim_public_id=claim.public_id, user=user, shop=shop, subtotal_fen=8000)
        fields.update(overrides)
        return lambda: services.quote(**fields)

    assert _refusal(quote(claim_public_id="nope")) == (
        "coupon_not_found",
        {},
        "No such coupon.",
    )
    assert _refusal(quote(claim_public_id="")) == ("coupon_not_found", {}, "No such coupon.")
    foreign = ("coupon_foreign", {}, "This coupon cannot be used for this order.")
    assert _refusal(quote(user=other_user)) == foreign
    assert _refusal(quote(shop=other_shop)) == foreign
    assert _refusal(quote(subtotal_fen=4999)) == (
        "coupon_below_minimum",
        {},
        "This coupon needs a minimum spend that the order does not reach.",
    )
    assert (
        services.quote(claim_public_id=claim.public_id, user=user, shop=shop, subtotal_fen=5000)
        == 1000
    )
    with clock.frozen_at(coupon.starts_at - timedelta(microseconds=1)):
        assert _refusal(quote())[0] == "coupon_not_started"
    with clock.frozen_at(coupon.starts_at):
        assert (
            services.quote(claim_public_id=claim.public_id, user=user, shop=shop, subtotal_fen=8000)
            == 1000
        )
    services.pause_coupon(coupon=coupon, actor=merchant)
    assert _refusal(quote()) == ("coupon_paused", {}, "This coupon is paused by the shop.")
    services.resume_coupon(coupon=coupon, actor=merchant)
    type(shop).objects.filter(pk=shop.pk).update(status="rejected")
    assert _refusal(quote())[0] == "coupon_paused"
    type(shop).objects.filter(pk=shop.pk).update(status="approved")
    services.redeem(
        claim_public_id=claim.public_id, user=user, shop=shop, subtotal_fen=8000, order_ref="o:1"
    )
    assert _refusal(quote()) == ("coupon_used", {}, "This coupon has already been used.")
    with pytest.raises(NotAuthenticated):
        quote(user=None)()


@pytest.mark.parametrize(
    ("order_ref", "fields", "message"),
    [
        ("   ", {"order_ref": "required"}, "An order reference is required."),
        (None, {"order_ref": "required"}, "An order reference is required."),
        ("x" * 65, {"order_ref": "too_long"}, "The order reference is too long."),
    ],
)
def test_a_bad_order_ref_is_refused_with_its_code(claim, user, shop, order_ref, fields, message):
    for call in (
        lambda: services.redeem(
            claim_public_id=claim.public_id,
            user=user,
            shop=shop,
            subtotal_fen=8000,
            order_ref=order_ref,
        ),
        lambda: services.release(order_ref=order_ref),
    ):
        assert _refusal(call) == ("invalid", fields, message)
    claim.refresh_from_db()
    assert claim.order_ref is None


def test_an_order_ref_of_the_longest_length_is_accepted(claim, user, shop):
    services.redeem(
        claim_public_id=claim.public_id, user=user, shop=shop, subtotal_fen=8000, order_ref="x" * 64
    )
    assert services.release(order_ref="x" * 64) is True


def test_a_second_coupon_on_one_order_says_why(make_coupon, claim, user, shop):
    other = services.claim_coupon(coupon=make_coupon(name="second"), user=user)
    services.redeem(
        claim_public_id=claim.public_id, user=user, shop=shop, subtotal_fen=8000, order_ref="o:1"
    )
    assert _refusal(
        lambda: services.redeem(
            claim_public_id=other.public_id,
            user=user,
            shop=shop,
            subtotal_fen=8000,
            order_ref="o:1",
        )
    ) == ("coupon_order_has_coupon", {}, "This order already uses a coupon.")
    other.refresh_from_db()
    assert (other.order_ref, other.discount_fen) == (None, 0)


def test_a_redemption_that_lost_the_race_to_its_own_retry_returns_the_first_discount(
    claim, user, shop, monkeypatch
):
    """The claim was read unused, then the same order's first attempt committed: the conditional
    update changes nothing, and the retry answers with the discount recorded first."""
    real_mark_used = services._mark_used

    def first_attempt_commits_first(*, claim, order_ref, discount, now):
        CouponClaim.objects.filter(pk=claim.pk).update(
            order_ref=order_ref, redeemed_at=now, discount_fen=777
        )
        return real_mark_used(claim=claim, order_ref=order_ref, discount=discount, now=now)

    monkeypatch.setattr(services, "_mark_used", first_attempt_commits_first)
    with recorded_events() as events:
        discount = services.redeem(
            claim_public_id=claim.public_id,
            user=user,
            shop=shop,
            subtotal_fen=8000,
            order_ref="o:1",
        )
    assert discount == 777
    assert events == []


def test_a_redemption_that_lost_the_race_to_another_order_is_refused(
    claim, user, shop, monkeypatch
):
    real_mark_used = services._mark_used

    def another_order_commits_first(*, claim, order_ref, discount, now):
        CouponClaim.objects.filter(pk=claim.pk).update(
            order_ref="o:other", redeemed_at=now, discount_fen=1000
        )
        return real_mark_used(claim=claim, order_ref=order_ref, discount=discount, now=now)

    monkeypatch.setattr(services, "_mark_used", another_order_commits_first)
    assert _refusal(
        lambda: services.redeem(
            claim_public_id=claim.public_id,
            user=user,
            shop=shop,
            subtotal_fen=8000,
            order_ref="o:1",
        )
    ) == ("coupon_used", {}, "This coupon has already been used.")


def test_a_release_that_lost_the_race_changes_nothing(claim, user, shop, monkeypatch):
    """The release read the claim held by its order; before its update the claim was released
    and used by another order (a concurrent release and checkout). The conditional update must
    leave the other order's redemption alone and report that nothing was released."""
    services.redeem(
        claim_public_id=claim.public_id, user=user, shop=shop, subtotal_fen=8000, order_ref="o:1"
    )
    real = CouponClaim.objects

    class _ReadThenOvertaken:
        def select_related(self, *args):
            return self

        overtaken = False

        def filter(self, *args, **kwargs):
            if set(kwargs) == {"order_ref"} and not self.overtaken:
                self.overtaken = True
                stale = real.select_related("coupon").filter(**kwargs).first()
                real.filter(pk=stale.pk).update(order_ref="o:2", discount_fen=999)
                return _One(stale)
            return real.filter(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(real, name)

    class _One:
        def __init__(self, row):
            self.row = row

        def first(self):
            return self.row

    monkeypatch.setattr(services.CouponClaim, "objects", _ReadThenOvertaken())
    with recorded_events() as events:
        assert services.release(order_ref="o:1") is False
    monkeypatch.undo()
    claim.refresh_from_db()
    assert (claim.order_ref, claim.discount_fen) == ("o:2", 999)
    assert events == []


@pytest.mark.parametrize(
    ("subtotal", "field_code"), [(0, "zero"), (-1, "negative"), (12.5, "not_integer")]
)
def test_a_bad_subtotal_is_named_as_such(claim, user, shop, subtotal, field_code):
    for call in (
        lambda: services.quote(
            claim_public_id=claim.public_id, user=user, shop=shop, subtotal_fen=subtotal
        ),
        lambda: services.redeem(
            claim_public_id=claim.public_id,
            user=user,
            shop=shop,
            subtotal_fen=subtotal,
            order_ref="o:1",
        ),
    ):
        code, fields, _message = _refusal(call)
        assert (code, fields) == ("invalid", {"subtotal_fen": field_code})


def test_a_claim_used_without_a_shop_is_foreign(claim, user):
    assert _refusal(
        lambda: services.quote(
            claim_public_id=claim.public_id, user=user, shop=None, subtotal_fen=8000
        )
    ) == ("coupon_foreign", {}, "This coupon cannot be used for this order.")


def test_a_coupon_of_a_shop_no_longer_approved_cannot_be_claimed(coupon, user, shop):
    type(shop).objects.filter(pk=shop.pk).update(status="rejected")
    with pytest.raises(NotFound) as caught:
        services.claim_coupon(coupon=coupon, user=user)
    assert (caught.value.code, str(caught.value)) == ("coupon_not_found", "No such coupon.")
    coupon.refresh_from_db()
    assert coupon.claimed_count == 0


def test_a_claim_takes_a_copy_of_its_own_coupon_only(make_coupon, user):
    taken, other = make_coupon(name="taken"), make_coupon(name="other")
    services.claim_coupon(coupon=taken, user=user)
    taken.refresh_from_db()
    other.refresh_from_db()
    assert (taken.claimed_count, other.claimed_count) == (1, 0)


def test_a_coupon_defaults_to_one_per_user_and_no_minimum_spend(shop, merchant, coupon_fields):
    fields = coupon_fields()
    del fields["per_user_limit"], fields["min_spend_fen"]
    coupon = services.create_coupon(actor=merchant, shop=shop, **fields)
    coupon.refresh_from_db()
    assert (coupon.per_user_limit, coupon.min_spend_fen) == (1, 0)


def test_something_that_is_not_a_user_is_not_signed_in(coupon):
    with pytest.raises(NotAuthenticated):
        services.claim_coupon(coupon=coupon, user=object())
    assert not CouponClaim.objects.exists()
