"""X-Forwarded-For is believed only from our own proxies, so the per-IP code limit holds."""

import pytest
from django.test import RequestFactory, override_settings

from shoploop.accounts.models import OneTimeCode
from shoploop.core.client_ip import client_ip


def _ip(remote: str, forwarded: str | None = None) -> str | None:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, **extra))


def test_without_trusted_proxies_the_header_is_ignored():
    assert _ip("203.0.113.9", "1.2.3.4") == "203.0.113.9"


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8", "192.0.2.1"])
def test_a_trusted_proxy_names_the_client():
    assert _ip("10.1.2.3", "198.51.100.7") == "198.51.100.7"
    assert _ip("192.0.2.1", "198.51.100.7") == "198.51.100.7"


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8"])
def test_what_the_client_wrote_to_the_left_is_ignored():
    # The client sent "X-Forwarded-For: 1.1.1.1"; our proxy appended the address it saw.
    assert _ip("10.0.0.5", "1.1.1.1, 198.51.100.7") == "198.51.100.7"
    # Two of our proxies in a row: skip both.
    assert _ip("10.0.0.5", "1.1.1.1, 198.51.100.7, 10.0.0.6") == "198.51.100.7"


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8"])
def test_an_untrusted_peer_cannot_forward_and_garbage_is_not_an_address():
    assert _ip("203.0.113.9", "10.0.0.1") == "203.0.113.9"
    assert _ip("10.0.0.5", "not-an-ip") == "10.0.0.5"
    assert _ip("10.0.0.5", "") == "10.0.0.5"
    assert _ip("10.0.0.5", "2001:db8::1") == "2001:db8::1"


@pytest.mark.django_db
@override_settings(OTP_SENDS_PER_IP_PER_HOUR=2, OTP_SENDS_PER_PHONE_PER_HOUR=5)
def test_the_per_ip_code_limit_cannot_be_dodged_with_a_forged_header(client, english):
    statuses = []
    for n in range(3):
        answer = client.post(
            "/api/v1/accounts/otp/send",
            {"phone": f"1390000000{n}"},
            content_type="application/json",
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
            REMOTE_ADDR="203.0.113.9",
        )
        statuses.append(answer.status_code)
    assert statuses == [202, 202, 429]
    assert set(OneTimeCode.objects.values_list("sent_to_ip", flat=True)) == {"203.0.113.9"}
