"""Test helpers: an SMS provider that records what it sends, and the pending Chinese texts."""

import json
import threading
from pathlib import Path

from shoploop.accounts.sms import SMSProvider, TemplateSMSProvider

PENDING_DIR = Path(__file__).resolve().parents[2] / "i18n-pending"

_lock = threading.Lock()
sent: list[dict] = []


class RecordingSMSProvider(SMSProvider):
    def send(self, *, phone: str, text: str) -> None:
        with _lock:
            sent.append({"phone": phone, "text": text})


class RecordingTemplateSMSProvider(TemplateSMSProvider):
    def send_template(self, *, phone: str, kind: str, params: list[str]) -> None:
        self.template_for(kind)  # refuses a kind without a configured template
        with _lock:
            sent.append({"phone": phone, "kind": kind, "params": params})


class FailingSMSProvider(SMSProvider):
    def send(self, *, phone: str, text: str) -> None:
        raise RuntimeError("the SMS gateway is down")


def pending_chinese() -> dict[str, str]:
    """The Chinese of texts waiting to be imported into the catalogue (every branch's file in
    i18n-pending/, so kinds added by other apps render in Chinese too)."""
    found: dict[str, str] = {}
    for pending in sorted(PENDING_DIR.glob("*.json")):
        found.update(json.loads(pending.read_text(encoding="utf-8")))
    return found
