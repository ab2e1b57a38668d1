"""WeChat Pay's side, offline: keys and a platform certificate generated here, notifications
signed and encrypted as WeChat Pay sends them, API answers signed by the platform key."""

import base64
import json
import secrets
from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from shoploop.core import clock

MCHID = "1900000109"
APPID = "wxd678efh567hg6787"
APIV3_KEY = "0123456789abcdefABCDEF0123456789"  # 32 bytes, as WeChat Pay requires
MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
API = "https://api.mch.weixin.qq.com"


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pkcs8_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def certificate_for(key, *, days_valid: int = 365) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA test")])
    now = clock.now()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days_valid))
        .sign(key, hashes.SHA256())
    )


def serial_of(certificate: x509.Certificate) -> str:
    return format(certificate.serial_number, "X")


def rsa_sign(key, message: str) -> str:
    signature = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def rsa_verifies(public_key, signature: str, message: str) -> bool:
    try:
        public_key.verify(
            base64.b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except Exception:
        return False
    return True


def transaction(payment, **overrides) -> dict:
    """A decrypted TRANSACTION.SUCCESS resource (and the order query's answer)."""
    return {
        "mchid": MCHID,
        "appid": APPID,
        "out_trade_no": payment.public_id,
        "transaction_id": "4200002024050112345678901234",
        "trade_type": "MWEB",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "OTHERS",
        "success_time": "2024-05-01T12:00:00+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": payment.amount, "payer_total": payment.amount, "currency": "CNY"},
        **overrides,
    }


def notification(
    resource: dict,
    *,
    key,
    serial: str,
    event_id: str = "EV-2018022511223320873",
    event_type: str = "TRANSACTION.SUCCESS",
    apiv3_key: str = APIV3_KEY,
    timestamp: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers WeChat Pay POSTs to the notify URL (a fresh nonce each time)."""
    aes_nonce = secrets.token_hex(6)  # 12 characters
    ciphertext = AESGCM(apiv3_key.encode()).encrypt(
        aes_nonce.encode(), json.dumps(resource, ensure_ascii=False).encode(), b"transaction"
    )
    body = json.dumps(
        {
            "id": event_id,
            "create_time": "2024-05-01T12:00:01+08:00",
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "支付成功",
            "resource": {
                "original_type": "transaction",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(ciphertext).decode(),
                "associated_data": "transaction",
                "nonce": aes_nonce,
            },
        },
        ensure_ascii=False,
    )
    return body.encode(), signed_headers(body, key=key, serial=serial, timestamp=timestamp)


def signed_headers(body: str, *, key, serial: str, timestamp: int | None = None) -> dict:
    moment = str(int(clock.now().timestamp()) if timestamp is None else timestamp)
    nonce = secrets.token_hex(16)
    return {
        "Wechatpay-Timestamp": moment,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        "Wechatpay-Signature": rsa_sign(key, f"{moment}\n{nonce}\n{body}\n"),
    }


def answer(platform, status: int, data: dict):
    """A handler for FakeHTTP: WeChat Pay's API answer, signed by the platform key."""

    def handle(_request):
        text = json.dumps(data, ensure_ascii=False)
        return status, text, signed_headers(text, key=platform["key"], serial=platform["serial"])

    return handle


def parse_authorization(header: str) -> dict[str, str]:
    scheme, _, rest = header.partition(" ")
    assert scheme == "WECHATPAY2-SHA256-RSA2048"
    return {k: v.strip('"') for k, v in (part.split("=", 1) for part in rest.split(","))}


def merchant_signature_verifies(request, merchant_public) -> bool:
    """The Authorization header, checked as WeChat Pay checks it."""
    fields = parse_authorization(request.headers["Authorization"])
    assert fields["mchid"] == MCHID and fields["serial_no"] == MERCHANT_SERIAL
    path = request.path_url
    body = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
    message = f"{request.method}\n{path}\n{fields['timestamp']}\n{fields['nonce_str']}\n{body}\n"
    return rsa_verifies(merchant_public, fields["signature"], message)
