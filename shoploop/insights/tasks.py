"""Celery tasks: only call services (beat runs ``roll_up_task`` every INSIGHTS_ROLLUP_INTERVAL)."""

from shoploop.celery import app


@app.task(name="shoploop.insights.tasks.roll_up_task")
def roll_up_task() -> dict[str, int]:
    """Roll up what the outbox gained since the last run, then prune old person facts. Two
    overlapping runs queue on the cursor row and never count an event twice."""
    from shoploop.insights import services

    result = services.roll_up(max_batches=50)
    pruned = services.prune()
    return {"events": result.events, "batches": result.batches, **pruned}
