"""Celery tasks only call services. Embedded mode runs them eagerly in-process.

Tasks are bound to the project's app, not ``shared_task``: a shared task follows Celery's
*current* app, and any other ``Celery(...)`` made later in the process (a test's client, a
library) would silently take our tasks to its own broker instead of running them here.
"""

from shoploop.celery import app
from shoploop.core.deadlines import settle_due


@app.task(name="shoploop.core.tasks.settle_due_task")
def settle_due_task() -> dict[str, int]:
    return settle_due()


@app.task(name="shoploop.core.tasks.deliver_outbox_task")
def deliver_outbox_task() -> int:
    """Deliver due outbox events (beat runs it every ``OUTBOX_INTERVAL_SECONDS``; overlapping
    runs share the work through ``SKIP LOCKED`` claims)."""
    from shoploop.core.outbox import deliver_pending

    return deliver_pending(max_batches=50)
