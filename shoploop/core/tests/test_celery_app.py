"""The project's tasks stay on the project's Celery app, whatever else the process creates.

A ``Celery(...)`` made anywhere in a process becomes Celery's *current* app. Tasks declared with
``shared_task`` follow the current app, so after a test made a client app to talk to a real
worker, every later sandbox callback in that test process went to the client's Redis queue
instead of running in-process: payments never captured, and the simulated world played a
different, smaller game (the flash-sale simulation test failed whenever xdist scheduled it after
a Celery test in the same worker).
"""

import pytest
from celery import Celery
from celery._state import _set_current_app, get_current_app
from celery.result import EagerResult

from shoploop.celery import app as project_app
from shoploop.core.tasks import deliver_outbox_task, settle_due_task
from shoploop.ledger.tasks import deliver_sandbox_callback, process_refund_task

PROJECT_TASKS = (
    settle_due_task,
    deliver_outbox_task,
    deliver_sandbox_callback,
    process_refund_task,
)


@pytest.fixture
def another_app_is_current():
    """Another app becomes current, as ``Celery(...)`` does by default; restored afterwards."""
    previous = get_current_app()
    other = Celery("someone-elses-client", broker="memory://localhost/", set_as_current=True)
    assert get_current_app() is other
    yield other
    _set_current_app(previous)


def test_project_tasks_belong_to_the_project_app_even_when_another_app_is_current(
    another_app_is_current,
):
    for task in PROJECT_TASKS:
        assert task.app is project_app, task.name


@pytest.mark.django_db
def test_embedded_mode_still_runs_tasks_in_process_when_another_app_is_current(
    another_app_is_current, settings
):
    assert project_app.conf.task_always_eager  # the test settings are the embedded default
    result = settle_due_task.delay()
    assert isinstance(result, EagerResult)
    assert isinstance(result.get(), dict)
