"""``make demo`` serves on port 8000 unless told otherwise (``make demo PORT=8001``)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _serve_line(*arguments: str) -> str:
    """The command ``make demo`` would run to serve, printed by ``make -n`` (nothing runs)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("HOST", "PORT")}
    planned = subprocess.run(
        ["make", "-n", "demo", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return next(line for line in planned.splitlines() if "manage.py serve" in line)


def test_demo_serves_on_8000_by_default():
    assert _serve_line().endswith("serve --host 127.0.0.1 --port 8000")


def test_demo_port_can_be_changed():
    assert _serve_line("PORT=8001").endswith("serve --host 127.0.0.1 --port 8001")
    assert _serve_line("PORT=9000", "HOST=0.0.0.0").endswith("serve --host 0.0.0.0 --port 9000")
