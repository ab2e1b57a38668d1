"""Production settings are safe by default: `check --deploy` is clean when DEBUG is off."""

import subprocess
import sys
from pathlib import Path

from shoploop.tests.processes import child_env

ROOT = Path(__file__).resolve().parents[3]


def _manage(*args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_debug_off():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SHOPLOOP_DEBUG="0",
        SHOPLOOP_SSL_REDIRECT="1",
        SHOPLOOP_SECRET_KEY="a-long-random-production-secret-key-" + "x" * 40,
        SHOPLOOP_ALLOWED_HOSTS="shop.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = child_env(SHOPLOOP_DEBUG="0")
    env.pop("SHOPLOOP_SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SHOPLOOP_SECRET_KEY" in result.stderr
