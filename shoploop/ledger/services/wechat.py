"""Starting a WeChat Pay payment from the buyer's browser: JSAPI inside WeChat (needs the buyer's
openid, got through a silent OAuth code), H5 in other phone browsers, Native (a QR code) on
desktop. These write nothing: the order lives at WeChat until its notification (or our query)
settles the payment."""

from django.utils.translation import gettext_lazy as _

from shoploop.ledger.errors import PaymentStateConflict, ProviderError, ProviderUnavailable
from shoploop.ledger.models import Payment
from shoploop.ledger.providers.wechat import WechatPayProvider
from shoploop.ledger.services.payments import payment_for_payer


def open_wechat_payment(*, public_id: str, actor) -> Payment:
    """The actor's own WeChat Pay payment, still awaiting payment; otherwise a DomainError."""
    payment = payment_for_payer(public_id=public_id, actor=actor)
    if payment.provider != WechatPayProvider.name:
        raise PaymentStateConflict(
            _("This payment is not made with WeChat Pay."), code="not_wechat"
        )
    if payment.state != Payment.State.REQUIRES_PAYMENT:
        raise PaymentStateConflict(
            _("This payment was already answered."), code="payment_already_answered"
        )
    return payment


def h5_checkout_url(*, public_id: str, actor, client_ip: str, return_url: str) -> str:
    """Where a phone browser goes to pay ``public_id`` (WeChat's H5 cashier)."""
    payment = open_wechat_payment(public_id=public_id, actor=actor)
    try:
        return WechatPayProvider().h5_url(payment, client_ip=client_ip, return_url=return_url)
    except ProviderError as error:
        raise ProviderUnavailable() from error


def native_checkout_link(*, public_id: str, actor) -> str:
    """The ``weixin://`` link a desktop page shows as a QR code for the buyer to scan."""
    payment = open_wechat_payment(public_id=public_id, actor=actor)
    try:
        return WechatPayProvider().native_code_url(payment)
    except ProviderError as error:
        raise ProviderUnavailable() from error


def jsapi_checkout_params(*, public_id: str, actor, openid: str) -> dict[str, str]:
    """The signed parameters the WeChat browser's JS bridge needs to pay ``public_id``."""
    payment = open_wechat_payment(public_id=public_id, actor=actor)
    try:
        return WechatPayProvider().jsapi_params(payment, openid=openid)
    except ProviderError as error:
        raise ProviderUnavailable() from error


def wechat_oauth_url(*, redirect_uri: str, state: str) -> str:
    return WechatPayProvider().oauth_url(redirect_uri=redirect_uri, state=state)


def wechat_openid(*, code: str) -> str:
    """The buyer's openid for a silent OAuth ``code`` (valid once, for five minutes)."""
    if not code or len(code) > 128:
        raise PaymentStateConflict(_("WeChat did not identify you. Try again."), code="bad_code")
    try:
        return WechatPayProvider().openid_for_code(code)
    except ProviderError as error:
        raise ProviderUnavailable() from error
