"""Sign-up rules: consent to the terms, the first-time step, ``next`` through every step, the
resend wait that keeps the code box, and the SMS language. Services, pages and the API."""

import pytest
from django.test import override_settings
from django.utils import translation

from shoploop.accounts import services
from shoploop.accounts.models import OneTimeCode, User
from shoploop.accounts.selectors import latest_debug_code
from shoploop.accounts.tests.conftest import at
from shoploop.core import errors

PHONE = "+8613512345678"
SIGN_IN = "/accounts/sign-in/"


class RecordingProvider:
    """Keeps what would be sent, so a test can read the language each SMS was written in."""

    sent: list[dict] = []

    def send_code(self, *, phone, code):
        self.sent.append({"phone": phone, "code": code, "locale": translation.get_language()})


@pytest.fixture
def recorded_sms():
    RecordingProvider.sent = []
    with override_settings(SMS_PROVIDER="shoploop.accounts.tests.test_sign_up.RecordingProvider"):
        yield RecordingProvider.sent


# --- services --------------------------------------------------------------------------------


def test_a_new_number_without_consent_is_refused_and_its_code_stays_usable(send_code):
    code = send_code(PHONE)
    with pytest.raises(services.TermsNotAccepted) as caught, at(5):
        services.verify_code(phone=PHONE, code=code)
    assert caught.value.code == "terms_required" and "accept_terms" in caught.value.fields
    assert not User.objects.exists()
    assert OneTimeCode.objects.get().used_at is None
    with at(10):
        verified = services.verify_code(phone=PHONE, code=code, accept_terms=True)
    assert verified.signed_up
    user = User.objects.get()
    assert user.terms_version == services.TERMS_VERSION
    assert user.terms_accepted_at is not None


def test_a_known_number_signs_in_without_asking_for_consent_again(send_code, make_user):
    make_user(phone=PHONE)
    code = send_code(PHONE)
    with at(5):
        verified = services.verify_code(phone=PHONE, code=code)
    assert not verified.signed_up and verified.user.terms_version == ""


def test_the_first_time_step_names_the_account_and_a_bad_name_changes_nothing(send_code):
    code = send_code(PHONE)
    with pytest.raises(errors.ValidationFailed), at(5):
        services.verify_code(phone=PHONE, code=code, accept_terms=True, display_name="x" * 41)
    assert not User.objects.exists() and OneTimeCode.objects.get().used_at is None
    with at(10):
        verified = services.verify_code(
            phone=PHONE, code=code, accept_terms=True, display_name="小明"
        )
    assert verified.user.display_name == "小明"


def test_a_resend_within_a_minute_says_how_long_to_wait(send_code):
    send_code(PHONE)
    with pytest.raises(services.ResendTooSoon) as caught, at(25):
        services.send_code(phone=PHONE)
    assert caught.value.wait_seconds == 35 and caught.value.code == "rate_limited"
    assert "35 seconds" in caught.value.message


def test_the_sms_speaks_the_recipients_stored_language(db, make_user, recorded_sms):
    make_user(phone=PHONE).__class__.objects.filter(phone=PHONE).update(locale="en")
    services.send_code(phone=PHONE, locale="zh-hans")
    assert recorded_sms[-1]["locale"] == "en"


def test_a_new_number_gets_the_request_language_else_the_default(db, recorded_sms):
    services.send_code(phone=PHONE, locale="en")
    services.send_code(phone="+8613512345679", locale="")
    services.send_code(phone="+8613512345670", locale="fr")
    assert [sms["locale"] for sms in recorded_sms] == ["en", "zh-hans", "zh-hans"]


def test_the_sms_text_is_written_in_the_language_asked(db):
    from shoploop.accounts.sms import code_text

    with translation.override("en"):
        text = code_text(code="123456")
    assert text.startswith("[Shoploop] Your sign-in code is 123456.")


# --- pages -----------------------------------------------------------------------------------


def _send(client, phone=PHONE, **extra):
    return client.post(SIGN_IN, {"action": "send", "phone": phone, **extra})


def _verify(client, code, phone=PHONE, **extra):
    return client.post(SIGN_IN, {"action": "verify", "phone": phone, "code": code, **extra})


def test_next_survives_every_step_of_a_sign_up(db, client):
    target = "/groups/g/abc123/"
    code_page = _send(client, next=target)
    assert f'name="next" value="{target}"'.encode() in code_page.content
    code = latest_debug_code(PHONE)
    first_time = _verify(client, code, next=target)
    assert f'name="next" value="{target}"'.encode() in first_time.content
    assert b'href="/terms/"' in first_time.content and b'href="/privacy/"' in first_time.content
    done = _verify(client, code, next=target, step="welcome", accept_terms="on")
    assert done.status_code == 302 and done["Location"] == target


def test_the_first_time_step_without_the_box_ticked_creates_nothing(db, client):
    _send(client)
    code = latest_debug_code(PHONE)
    response = _verify(client, code, step="welcome", display_name="小明")
    assert response.status_code == 422
    assert b"accept the terms of service" in response.content
    assert b'name="accept_terms"' in response.content and b'value="\xe5\xb0\x8f\xe6\x98\x8e"' in (
        response.content
    )
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "http://testserver.evil.example/"]
)
def test_an_external_next_is_refused_after_sign_up(db, client, target):
    _send(client, next=target)
    code = latest_debug_code(PHONE)
    response = _verify(client, code, next=target, step="welcome", accept_terms="on")
    assert response.status_code == 302 and response["Location"] == "/"
    first_time = client.get(f"{SIGN_IN}?next={target}")  # signed in now: straight home
    assert first_time["Location"] == "/"


def test_a_resend_too_soon_keeps_the_code_box_and_shows_the_wait(db, client):
    with at(0):
        _send(client, "135 1234 5678")
    with at(20):
        response = _send(client, PHONE)
    assert response.status_code == 429
    assert b'name="code"' in response.content
    assert b"Please wait 40 seconds" in response.content
    assert b"data-resend-wait" in response.content


def test_the_sign_in_page_sends_the_sms_in_the_browsers_language(db, client, recorded_sms):
    client.post(SIGN_IN, {"action": "send", "phone": PHONE}, HTTP_ACCEPT_LANGUAGE="en")
    client.post(
        SIGN_IN, {"action": "send", "phone": "+8613512345679"}, HTTP_ACCEPT_LANGUAGE="zh-Hans"
    )
    assert [sms["locale"] for sms in recorded_sms] == ["en", "zh-hans"]


@pytest.mark.parametrize("path", ["/terms/", "/privacy/"])
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_terms_and_privacy_pages_render(db, client, path, language):
    response = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert services.TERMS_VERSION.encode() in response.content


# --- API -------------------------------------------------------------------------------------


def test_api_sign_up_needs_accept_terms(api):
    api.post("/accounts/otp/send", {"phone": PHONE})
    code = latest_debug_code(PHONE)
    refused = api.post("/accounts/otp/verify", {"phone": PHONE, "code": code})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "terms_required"
    assert not User.objects.exists()
    accepted = api.post(
        "/accounts/otp/verify",
        {"phone": PHONE, "code": code, "accept_terms": True, "display_name": "App 用户"},
    )
    assert accepted.status_code == 200
    body = accepted.json()
    assert body["signed_up"] and body["user"]["display_name"] == "App 用户"
    assert body["user"]["terms_version"] == services.TERMS_VERSION


def test_api_sends_the_sms_in_the_request_language(api, recorded_sms):
    api.post("/accounts/otp/send", {"phone": PHONE}, headers={"Accept-Language": "en"})
    assert recorded_sms[-1]["locale"] == "en"
