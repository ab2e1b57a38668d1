"""The project's tasks stay on the project's Celery app, whatever else the process creates.

A ``Celery(...)`` made anywhere in a process becomes Celery's *current* app. Tasks declared with
``shared_task`` follow the current app, so after a test made a client app to talk to a real
worker, every later sandbox callback in that test process went to the client's Redis queue
instead of running in-process: payments never captured, and the simulated world played a
different, smaller game (the flash-sale simulation test failed whenever xdist scheduled it after
a Celery test in the same worker).
"""

import threading

import pytest
from celery import Celery
from celery._state import _set_current_app, get_current_app, task_join_will_block
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


def test_overlapping_eager_tasks_leave_celerys_join_flag_set_so_each_test_starts_clean():
    """Why conftest resets Celery's "inside a task" flag before every test: two eager tasks
    overlapping in two threads restore the process-wide flag out of order and leave it set, and a
    later ``get()`` in the process then refuses. The embedded test above failed this way when it
    ran after a race test in the same xdist worker."""
    app = Celery("overlapping-eager-tasks", set_as_current=False)
    app.conf.task_always_eager = True
    first_started, second_started, first_done = (threading.Event() for _ in range(3))

    @app.task
    def first():
        first_started.set()
        second_started.wait(5)

    @app.task
    def second():
        second_started.set()
        first_done.wait(5)

    def run_first():
        first.delay()
        first_done.set()

    threads = [threading.Thread(target=run_first), threading.Thread(target=second.delay)]
    threads[0].start()
    first_started.wait(5)
    threads[1].start()
    for thread in threads:
        thread.join(5)

    assert task_join_will_block()  # Celery's flag, leaked
    with pytest.raises(RuntimeError, match=r"Never call result\.get"):
        EagerResult("a-finished-task", {}, "SUCCESS").get()
