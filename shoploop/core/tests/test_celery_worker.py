"""A task runs through a real Celery worker process against the Redis on this machine.

The worker is a separate process with its own settings (Redis broker, the test's PostgreSQL
database), exactly as `celery -A shoploop worker` runs in production.
"""

import uuid

import pytest
from celery import Celery

from shoploop.core.deadlines import registered_handlers
from shoploop.tests.processes import REDIS_URL, scale_out_env, worker_process


@pytest.mark.postgres
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_settle_due_runs_in_a_real_worker():
    queue = f"test-{uuid.uuid4().hex[:8]}"
    with worker_process(queue, scale_out_env()):
        client = Celery(
            "shoploop-test-client", broker=REDIS_URL, backend=REDIS_URL, set_as_current=False
        )
        result = client.send_task("shoploop.core.tasks.settle_due_task", queue=queue)
        settled = result.get(timeout=60)
    assert set(settled) == set(registered_handlers())
    assert all(count >= 0 for count in settled.values()), settled
