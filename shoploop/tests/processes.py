"""Start real server and worker processes for tests, the way production runs them."""

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("SHOPLOOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def current_database_url() -> str:
    """The URL of the test database this process uses (PostgreSQL), for child processes."""
    db = connection.settings_dict
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{db['USER']}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


# Set by the browser tests for Playwright's event loop; a production process must never inherit it.
TEST_ONLY_VARIABLES = ("DJANGO_ALLOW_ASYNC_UNSAFE",)


def child_env(**extra) -> dict:
    """This process's environment for a child that runs like production, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY_VARIABLES}
    # Unbuffered, so a child that never gets ready has printed everything it did before.
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def scale_out_env(**extra) -> dict:
    return {
        **child_env(),
        "SHOPLOOP_REDIS_URL": REDIS_URL,
        "SHOPLOOP_DATABASE_URL": current_database_url(),
        "SHOPLOOP_DEBUG": "0",
        "SHOPLOOP_SSL_REDIRECT": "0",
        "SHOPLOOP_ALLOWED_HOSTS": "127.0.0.1,localhost",
        **extra,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_output(process: subprocess.Popen, marker: str, timeout: float) -> None:
    """Read the child's output until ``marker`` appears (readiness without guessing a delay).

    A thread reads the lines and keeps draining them for the child's whole life. (Waiting with
    ``select`` on the pipe and then calling ``readline`` lost lines: when two lines arrived in one
    chunk, ``readline`` returned the first and kept the second in its buffer, ``select`` then
    waited for bytes that never came, and a server that had printed "Uvicorn running on" was
    reported as not ready. A child whose pipe nobody drains would also block once it fills.)
    """
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, name=f"output-of-{process.pid}", daemon=True).start()
    deadline = time.monotonic() + timeout
    seen = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if marker in line:
            return
    process.kill()
    raise RuntimeError(f"process did not print {marker!r}:\n{''.join(seen)}")


@contextmanager
def running(args: list[str], *, env: dict, ready_marker: str, timeout: float = 60):
    process = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait_for_output(process, ready_marker, timeout)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def web_process(port: int, env: dict):
    return running(
        [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        ready_marker="Uvicorn running on",
    )


def worker_process(queue: str, env: dict):
    return running(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "shoploop",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        env=env,
        ready_marker="ready.",
    )
