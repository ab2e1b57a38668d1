import logging

import pytest
from django.test import override_settings

from shoploop.accounts import services
from shoploop.accounts.models import OneTimeCode, User
from shoploop.accounts.phones import normalize_phone
from shoploop.accounts.tests.conftest import T0, at
from shoploop.core import errors
from shoploop.core.deadlines import registered_handlers
from shoploop.core.events import recorded_events

PHONE = "+8613912345678"


# --- phone numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["139 1234 5678", "13912345678", "+86 139-1234-5678", "+86 (139) 1234.5678"]
)
def test_typed_numbers_become_e164(typed):
    assert normalize_phone(typed) == PHONE


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "abc",
        "12345",
        "1391234567",
        "139123456789",
        "+86 139 1234 5678 ext 9",
        "1-800-FLOWERS",
        "<script>1</script>",
        "1" * 40,
        "x" * (10 * 1024 * 1024),
    ],
)
def test_malformed_numbers_are_refused_and_nothing_is_sent(db, typed):
    with pytest.raises(errors.ValidationFailed) as caught:
        services.send_code(phone=typed, ip="10.0.0.1")
    assert caught.value.code in {"phone_invalid", "phone_required"}
    assert not OneTimeCode.objects.exists()


@pytest.mark.parametrize("foreign", ["+14155552671", "+85291234567", "+447911123456"])
def test_numbers_outside_mainland_china_are_refused_with_a_clear_message(db, foreign):
    with pytest.raises(errors.ValidationFailed) as caught:
        services.send_code(phone=foreign)
    assert caught.value.code == "phone_region_unsupported"
    assert "+86" in str(caught.value.message)
    assert not OneTimeCode.objects.exists()


@pytest.mark.parametrize("landline", ["010 1234 5678", "021-62345678", "400 810 8888"])
def test_landlines_and_service_numbers_are_refused(db, landline):
    with pytest.raises(errors.ValidationFailed) as caught:
        services.send_code(phone=landline)
    assert caught.value.code == "phone_not_mobile"


# --- sending -----------------------------------------------------------------------------------


def test_a_sent_code_is_six_digits_stored_only_as_a_keyed_hash(send_code):
    code = send_code("139 1234 5678")
    otp = OneTimeCode.objects.get()
    assert len(code) == 6 and code.isdigit()
    assert otp.phone == PHONE
    assert code not in otp.code_hash
    assert otp.code_hash == services.hash_code(phone=PHONE, code=code)
    assert otp.expires_at - otp.created_at == services.CODE_LIFETIME
    assert otp.sent_to_ip == "10.0.0.1"


def test_the_console_provider_logs_the_message_for_developers(db, caplog):
    with caplog.at_level(logging.INFO, logger="shoploop.accounts.sms"):
        services.send_code(phone=PHONE)
    from shoploop.accounts.selectors import latest_debug_code

    code = latest_debug_code(PHONE)
    assert f"SMS to {PHONE} : [Shoploop] Your sign-in code is {code}." in caplog.text


def test_resending_sooner_than_a_minute_is_rate_limited(send_code):
    send_code(PHONE)
    with pytest.raises(errors.RateLimited) as caught, at(30):
        services.send_code(phone=PHONE, ip="10.0.0.1")
    assert caught.value.code == "rate_limited" and caught.value.status == 429
    assert "30 seconds" in str(caught.value.message)
    assert OneTimeCode.objects.count() == 1
    send_code(PHONE, at_seconds=61)
    assert OneTimeCode.objects.count() == 2


@override_settings(OTP_SENDS_PER_PHONE_PER_HOUR=3)
def test_hourly_limit_per_number_counts_in_the_database(send_code):
    for step in range(3):
        send_code(PHONE, ip=f"10.0.0.{step}", at_seconds=61 * step)
    with pytest.raises(errors.RateLimited) as caught, at(61 * 3):
        services.send_code(phone=PHONE, ip="10.9.9.9")
    assert "this number" in str(caught.value.message)
    assert OneTimeCode.objects.count() == 3
    # Other numbers are not affected, and the window slides.
    send_code("+8613900000001", at_seconds=61 * 3)
    send_code(PHONE, at_seconds=3600 + 1)


@override_settings(OTP_SENDS_PER_IP_PER_HOUR=2)
def test_hourly_limit_per_ip(send_code):
    send_code("+8613900000001", ip="10.1.1.1")
    send_code("+8613900000002", ip="10.1.1.1")
    with pytest.raises(errors.RateLimited) as caught, at(1):
        services.send_code(phone="+8613900000003", ip="10.1.1.1")
    assert "network" in str(caught.value.message)
    send_code("+8613900000003", ip="10.2.2.2")
    assert OneTimeCode.objects.filter(sent_to_ip="10.1.1.1").count() == 2


class BrokenProvider:
    def send_code(self, *, phone, code):
        raise ConnectionError("provider down")


@override_settings(SMS_PROVIDER="shoploop.accounts.tests.test_codes.BrokenProvider")
def test_a_failed_sms_does_not_use_up_the_allowance(db):
    with pytest.raises(services.SMSUnavailable) as caught:
        services.send_code(phone=PHONE)
    assert caught.value.status == 503
    assert not OneTimeCode.objects.exists()


# --- verifying ---------------------------------------------------------------------------------


def test_a_new_number_signs_up_with_a_verified_phone(send_code):
    code = send_code(PHONE)
    with recorded_events() as events, at(10):
        verified = services.verify_code(accept_terms=True, phone="139 1234 5678", code=code)
    assert verified.signed_up
    assert verified.user.phone == PHONE
    assert verified.user.phone_verified_at == T0.replace(second=10)
    assert [event.name for event in events] == ["accounts.user.signed_up"]
    assert OneTimeCode.objects.get().used_at is not None


def test_a_known_number_signs_in_to_the_same_account(send_code, make_user):
    existing = make_user(phone=PHONE, verified=False)
    code = send_code(PHONE)
    with recorded_events() as events, at(5):
        verified = services.verify_code(accept_terms=True, phone=PHONE, code=code)
    assert not verified.signed_up and verified.user.pk == existing.pk
    assert events == []
    existing.refresh_from_db()
    assert existing.phone_verified_at is not None
    assert User.objects.count() == 1


def test_wrong_codes_count_and_the_fifth_kills_the_code(send_code):
    code = send_code(PHONE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for attempt in range(1, 6):
        with pytest.raises(errors.ValidationFailed) as caught, at(1):
            services.verify_code(accept_terms=True, phone=PHONE, code=wrong)
        assert caught.value.code == "code_wrong"
        assert OneTimeCode.objects.get().wrong_tries == attempt
    with pytest.raises(errors.ValidationFailed) as caught, at(2):
        services.verify_code(accept_terms=True, phone=PHONE, code=code)
    assert caught.value.code == "code_exhausted"
    assert OneTimeCode.objects.get().wrong_tries == 5
    assert not User.objects.exists()
    # Nothing else is locked: a new code works.
    fresh = send_code(PHONE, at_seconds=61)
    with at(62):
        assert services.verify_code(accept_terms=True, phone=PHONE, code=fresh).signed_up


def test_wrong_tries_on_one_number_do_not_touch_another(send_code):
    mine = send_code(PHONE)
    send_code("+8613900000009")
    with pytest.raises(errors.ValidationFailed), at(1):
        services.verify_code(
            accept_terms=True, phone="+8613900000009", code="000000" if mine != "000000" else "1"
        )
    with at(2):
        assert services.verify_code(accept_terms=True, phone=PHONE, code=mine).user.phone == PHONE
    assert OneTimeCode.objects.get(phone=PHONE).wrong_tries == 0


def test_an_expired_code_is_refused(send_code):
    code = send_code(PHONE)
    with pytest.raises(errors.ValidationFailed) as caught, at(5 * 60 + 1):
        services.verify_code(accept_terms=True, phone=PHONE, code=code)
    assert caught.value.code == "code_expired"
    assert not User.objects.exists()


def test_a_code_works_once(send_code):
    code = send_code(PHONE)
    with at(1):
        services.verify_code(accept_terms=True, phone=PHONE, code=code)
    with pytest.raises(errors.ValidationFailed) as caught, at(2):
        services.verify_code(accept_terms=True, phone=PHONE, code=code)
    assert caught.value.code == "code_used"


def test_only_the_latest_code_counts(send_code):
    old = send_code(PHONE)
    new = send_code(PHONE, at_seconds=61)
    if old != new:
        with pytest.raises(errors.ValidationFailed), at(62):
            services.verify_code(accept_terms=True, phone=PHONE, code=old)
    with at(63):
        assert services.verify_code(accept_terms=True, phone=PHONE, code=new).user


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "12ab56", "１２３４５６", "x" * 100_000])
def test_malformed_codes_are_refused_without_costing_a_try(send_code, typed):
    send_code(PHONE)
    with pytest.raises(errors.ValidationFailed) as caught, at(1):
        services.verify_code(accept_terms=True, phone=PHONE, code=typed)
    assert caught.value.code == "code_malformed"
    assert OneTimeCode.objects.get().wrong_tries == 0


def test_verifying_without_a_code_sent(db):
    with pytest.raises(errors.ValidationFailed) as caught:
        services.verify_code(accept_terms=True, phone=PHONE, code="123456")
    assert caught.value.code == "code_not_requested"


def test_a_banned_user_cannot_sign_in_and_keeps_the_code(send_code, make_user, operator):
    banned = make_user(phone=PHONE)
    services.ban_user(user=banned, actor=operator, reason="spam")
    code = send_code(PHONE)
    with pytest.raises(errors.PermissionDenied) as caught, at(1):
        services.verify_code(accept_terms=True, phone=PHONE, code=code)
    assert caught.value.code == "account_suspended"
    assert OneTimeCode.objects.get().used_at is None


# --- purging -----------------------------------------------------------------------------------


def test_purge_deletes_codes_expired_for_more_than_a_day_and_is_idempotent(send_code):
    send_code(PHONE)
    send_code("+8613900000001", at_seconds=2 * 86400)
    assert "accounts.purge_expired_codes" in registered_handlers()
    later = T0.replace(day=T0.day + 2)
    assert services.purge_expired_codes(later) == 1
    assert services.purge_expired_codes(later) == 0
    assert list(OneTimeCode.objects.values_list("phone", flat=True)) == ["+8613900000001"]


# --- trusted sign-up (demo world, operator scripts) --------------------------------------------


def test_register_verified_user_signs_up_with_a_profile(db):
    with recorded_events() as events:
        user = services.register_verified_user(
            phone="13912345678", display_name="  小周  ", locale="en"
        )
    assert user.phone == "+8613912345678"
    assert (user.display_name, user.locale) == ("小周", "en")
    assert user.phone_verified_at is not None
    assert [event.name for event in events] == ["accounts.user.signed_up"]


def test_register_verified_user_refuses_a_taken_number_and_bad_input(db):
    services.register_verified_user(phone="13912345678")
    with pytest.raises(errors.Conflict):
        services.register_verified_user(phone="+86 139 1234 5678")
    with pytest.raises(errors.ValidationFailed):
        services.register_verified_user(phone="12345")
    with pytest.raises(errors.ValidationFailed):
        services.register_verified_user(phone="13912345679", display_name="x" * 41)
    assert User.objects.count() == 1


def test_create_operator_makes_staff(db):
    operator = services.create_operator(phone="13912345678", display_name="运营")
    operator.refresh_from_db()
    assert operator.is_staff and not operator.is_superuser
