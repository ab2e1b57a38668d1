"""Scale-out: two stateless ASGI web processes and a Celery worker share PostgreSQL and Redis.

A session made through one web process is honoured by the other, and background work submitted
from the test runs in the separate worker process.
"""

import urllib.request
import uuid

import pytest
from celery import Celery
from django.conf import settings

from shoploop.core.deadlines import registered_handlers
from shoploop.tests.processes import (
    REDIS_URL,
    free_port,
    scale_out_env,
    web_process,
    worker_process,
)


def _get(url: str, cookie: str = "") -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read().decode()


@pytest.mark.postgres
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_two_web_processes_and_a_worker_share_one_state(client, make_user):
    person = make_user(display_name="跨进程的小张")
    client.force_login(person)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    env = scale_out_env()
    queue = f"test-{uuid.uuid4().hex[:8]}"
    port_a, port_b = free_port(), free_port()

    with web_process(port_a, env), web_process(port_b, env), worker_process(queue, env):
        for port in (port_a, port_b):
            status, page = _get(f"http://127.0.0.1:{port}/me/", cookie)
            assert status == 200
            assert "跨进程的小张" in page
            status, schema = _get(f"http://127.0.0.1:{port}/api/v1/openapi.json")
            assert status == 200 and '"openapi"' in schema

        client_app = Celery(
            "shoploop-test-client", broker=REDIS_URL, backend=REDIS_URL, set_as_current=False
        )
        settled = client_app.send_task("shoploop.core.tasks.settle_due_task", queue=queue).get(
            timeout=60
        )
    assert set(settled) == set(registered_handlers())
