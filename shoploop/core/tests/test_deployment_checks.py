"""Production refuses to start with development stand-ins (sandbox cashier, console SMS)."""

import subprocess
import sys

from django.test import override_settings

from shoploop.core.checks import development_providers_in_production
from shoploop.core.tests.test_settings import ROOT
from shoploop.tests.processes import child_env

REAL_SMS = "shoploop.accounts.sms.SMSProvider"


def _ids(**settings) -> list[str]:
    with override_settings(**settings):
        return [error.id for error in development_providers_in_production()]


def test_production_with_the_sandbox_and_console_sms_is_refused():
    assert _ids(DEBUG=False, STAGING=False) == ["shoploop.E001", "shoploop.E002"]


def test_production_with_real_providers_is_accepted():
    assert _ids(DEBUG=False, STAGING=False, PAYMENT_PROVIDER="alipay", SMS_PROVIDER=REAL_SMS) == []


def test_each_stand_in_is_named_on_its_own():
    assert _ids(DEBUG=False, STAGING=False, PAYMENT_PROVIDER="alipay") == ["shoploop.E002"]
    assert _ids(DEBUG=False, STAGING=False, SMS_PROVIDER=REAL_SMS) == ["shoploop.E001"]


def test_staging_and_development_may_use_the_stand_ins():
    assert _ids(DEBUG=False, STAGING=True) == []
    assert _ids(DEBUG=True, STAGING=False) == []


def _manage_check(**env) -> subprocess.CompletedProcess:
    environment = child_env(SHOPLOOP_DEBUG="0")
    for name in ("SHOPLOOP_STAGING", "SHOPLOOP_PAYMENT_PROVIDER", "SHOPLOOP_SMS_PROVIDER"):
        environment.pop(name, None)
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_manage_py_refuses_to_start_without_staging():
    refused = _manage_check()
    assert refused.returncode != 0
    assert "shoploop.E001" in refused.stderr and "SHOPLOOP_STAGING=1" in refused.stderr
    assert _manage_check(SHOPLOOP_STAGING="1").returncode == 0
