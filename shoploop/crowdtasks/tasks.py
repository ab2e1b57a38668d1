"""Celery tasks: they only call services."""

from shoploop.celery import app
from shoploop.core import clock
from shoploop.crowdtasks import services


@app.task(name="shoploop.crowdtasks.tasks.close_due")
def close_due() -> int:
    """End the tasks whose deadline has passed (also run by settle_due every interval)."""
    return services.close_due(clock.now())
