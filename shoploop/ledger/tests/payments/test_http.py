"""The API and the pages: authorization matrix, bad input, nothing changed on refusal."""

import pytest

from shoploop.core import clock
from shoploop.ledger.models import Payment, PaymentEvent, Withdrawal
from shoploop.ledger.providers.sandbox import sign, signed_callback
from shoploop.ledger.services import payments, payouts

# --- API -------------------------------------------------------------------------------------


def test_payment_detail_is_for_the_payer(api, make_payment, user, other_user):
    payment = make_payment(amount=1500)
    mine = api.get(f"/ledger/payments/{payment.public_id}", user=user)
    assert mine.status_code == 200
    body = mine.json()
    assert body["id"] == payment.public_id and body["amount"] == 1500
    assert body["pay_url"] == f"/pay/{payment.public_id}/"
    assert api.get(f"/ledger/payments/{payment.public_id}", user=other_user).status_code == 403
    assert api.get(f"/ledger/payments/{payment.public_id}").status_code == 401
    assert api.get("/ledger/payments/nosuchpaymnt", user=user).status_code == 404


def test_sandbox_confirm_through_the_api(
    api, make_payment, user, other_user, django_capture_on_commit_callbacks
):
    payment = make_payment()
    path = f"/ledger/payments/{payment.public_id}/sandbox/confirm"
    refused = api.post(path, user=other_user)
    assert refused.status_code == 403
    payment.refresh_from_db()
    assert payment.state == Payment.State.REQUIRES_PAYMENT
    with django_capture_on_commit_callbacks(execute=True):
        answered = api.post(path, user=user)
    assert answered.status_code == 200
    payment.refresh_from_db()
    assert payment.state == Payment.State.SUCCEEDED
    again = api.post(f"/ledger/payments/{payment.public_id}/sandbox/decline", user=user)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "payment_already_answered"


def test_refund_detail(api, paid_payment, user, other_user):
    refund = payments.refund(payment=paid_payment, amount=100, key="r", reason="x")
    found = api.get(f"/ledger/refunds/{refund.public_id}", user=user)
    assert found.status_code == 200 and found.json()["amount"] == 100
    assert api.get(f"/ledger/refunds/{refund.public_id}", user=other_user).status_code == 403


def test_wallet_and_withdrawals_api(api, merchant, shop, fund_shop, user):
    fund_shop(shop, 5000)
    assert api.get("/ledger/wallet", user=user).status_code == 403
    headers = {"Idempotency-Key": "w-1"}
    body = {"amount": 2000, "account_holder": "张三", "account_number": "6222021234567890"}
    created = api.post("/ledger/withdrawals", body, user=merchant, headers=headers)
    assert created.status_code == 201, created.content
    assert created.json()["account_number"] == "•••• 7890"
    replay = api.post("/ledger/withdrawals", body, user=merchant, headers=headers)
    assert replay.json()["id"] == created.json()["id"]
    wallet = api.get("/ledger/wallet", user=merchant).json()
    assert (wallet["available"], wallet["in_transit"]) == (3000, 2000)
    listed = api.get("/ledger/withdrawals", user=merchant).json()
    assert [w["id"] for w in listed["results"]] == [created.json()["id"]]
    lines = api.get("/ledger/wallet/lines", user=merchant).json()
    assert [line["reason"] for line in lines["results"]][:2] == ["withdrawal", "order_completed"]
    assert (
        api.post(
            "/ledger/withdrawals", body, user=user, headers={"Idempotency-Key": "x"}
        ).status_code
        == 403
    )


@pytest.mark.parametrize("amount", [20.5, "2000", None, -100, 99, 10**9])
def test_bad_withdrawal_amounts_are_4xx_and_change_nothing(api, merchant, shop, fund_shop, amount):
    fund_shop(shop, 5000)
    body = {"amount": amount, "account_holder": "张三", "account_number": "6222021234567890"}
    response = api.post(
        "/ledger/withdrawals", body, user=merchant, headers={"Idempotency-Key": "k"}
    )
    assert response.status_code in (409, 422), response.content
    assert not Withdrawal.objects.exists()


def test_withdrawal_without_a_key_is_refused(api, merchant, shop, fund_shop):
    fund_shop(shop, 5000)
    body = {"amount": 2000, "account_holder": "张三", "account_number": "6222021234567890"}
    assert api.post("/ledger/withdrawals", body, user=merchant).status_code == 422
    assert not Withdrawal.objects.exists()


# --- pages -------------------------------------------------------------------------------------


def test_cashier_page_confirms(client, make_payment, user, django_capture_on_commit_callbacks):
    payment = make_payment(amount=4200)
    client.force_login(user)
    page = client.get(f"/pay/{payment.public_id}/")
    assert page.status_code == 200 and "42.00" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(f"/pay/{payment.public_id}/", {"action": "confirm"})
    assert posted.status_code == 302
    payment.refresh_from_db()
    assert payment.state == Payment.State.SUCCEEDED
    shown = client.get(posted["Location"])
    assert shown.status_code == 200


def test_cashier_page_refuses_strangers_and_anonymous(client, make_payment, other_user):
    payment = make_payment()
    assert client.get(f"/pay/{payment.public_id}/").status_code == 302  # to sign-in
    client.force_login(other_user)
    assert client.get(f"/pay/{payment.public_id}/").status_code == 403
    assert client.post(f"/pay/{payment.public_id}/", {"action": "confirm"}).status_code == 403
    payment.refresh_from_db()
    assert payment.state == Payment.State.REQUIRES_PAYMENT
    assert client.get("/pay/nosuchpaymnt/").status_code == 404


def test_cashier_shows_the_error_when_answered_twice(client, make_payment, user):
    payment = make_payment()
    client.force_login(user)
    client.post(f"/pay/{payment.public_id}/", {"action": "decline"})
    again = client.post(f"/pay/{payment.public_id}/", {"action": "confirm"})
    assert again.status_code == 200 and "already answered" in again.content.decode()


def test_webhook_is_csrf_exempt_and_checks_signatures(make_payment):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    payment = make_payment()
    body, headers = signed_callback(
        event_id="e1", payment_public_id=payment.public_id, kind="succeeded", amount=payment.amount
    )
    http_headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    ok = strict.post("/webhooks/sandbox/", body, content_type="application/json", **http_headers)
    assert ok.status_code == 200
    payment.refresh_from_db()
    assert payment.state == Payment.State.SUCCEEDED
    moment = int(clock.now().timestamp())
    forged = {
        "HTTP_X_SANDBOX_TIMESTAMP": str(moment),
        "HTTP_X_SANDBOX_SIGNATURE": sign(body=body, timestamp=moment, secret=b"nope"),
    }
    bad = strict.post("/webhooks/sandbox/", body, content_type="application/json", **forged)
    assert bad.status_code == 400
    assert strict.get("/webhooks/sandbox/").status_code == 405
    assert strict.post("/webhooks/nope/", b"{}", content_type="application/json").status_code == 404
    assert PaymentEvent.objects.count() == 1


def test_wallet_page(client, merchant, shop, fund_shop, user):
    fund_shop(shop, 5000)
    client.force_login(merchant)
    page = client.get("/wallet/")
    assert page.status_code == 200 and "50.00" in page.content.decode()
    key = page.context["form"].initial["request_key"]
    data = {
        "amount": "20.5",
        "account_holder": "<script>x</script>",
        "account_number": "6222021234567890",
        "request_key": key,
    }
    assert client.post("/wallet/", data).status_code == 302
    assert client.post("/wallet/", data).status_code == 302  # a double click: the same withdrawal
    assert Withdrawal.objects.get().amount == 2050
    shown = client.get("/wallet/").content.decode()
    assert "&lt;script&gt;" in shown and "<script>x" not in shown
    too_much = client.post("/wallet/", {**data, "amount": "100", "request_key": "k2"})
    assert too_much.status_code == 200 and "at most your available" in too_much.content.decode()
    bad = client.post("/wallet/", {**data, "amount": "1.234", "request_key": "k3"})
    assert bad.status_code == 200 and Withdrawal.objects.count() == 1
    client.force_login(user)
    assert client.get("/wallet/").status_code == 403


def test_admin_retry_and_process_actions(client, operator, paid_payment, merchant, shop, fund_shop):
    fund_shop(shop, 500)
    withdrawal = payouts.request_withdrawal(
        actor=merchant,
        amount=200,
        account_holder="张三",
        account_number="6222021234567890",
        request_key="a",
    )
    client.force_login(operator)
    for model in ("payment", "paymentevent", "refund", "withdrawal"):
        assert client.get(f"/admin/ledger/{model}/").status_code == 200
    client.post(
        "/admin/ledger/withdrawal/",
        {"action": "process_now", "_selected_action": [withdrawal.pk]},
    )
    withdrawal.refresh_from_db()
    assert withdrawal.state == Withdrawal.State.PAID


def test_wallet_lines_say_why_in_words():
    from shoploop.ledger.templatetags.ledger_tags import transfer_reason_label

    assert transfer_reason_label("platform_fee") == "Platform fee"
    assert transfer_reason_label("order_completed") == "Order completed: your share"
    assert transfer_reason_label("something_new") == "something_new"
