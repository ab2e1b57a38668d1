"""Celery tasks only call services. Embedded mode runs them eagerly in-process."""

from celery import shared_task

from shoploop.core.deadlines import settle_due


@shared_task(name="shoploop.core.tasks.settle_due_task")
def settle_due_task() -> dict[str, int]:
    return settle_due()
