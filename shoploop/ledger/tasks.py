"""Celery tasks only call services. Embedded mode runs them eagerly in-process.

Tasks are bound to the project's app, not ``shared_task``: a shared task follows Celery's
*current* app, and any other ``Celery(...)`` made later in the process (a test's client, a
library) would silently take our tasks to its own broker instead of running them here.
"""

import logging

from shoploop.celery import app
from shoploop.core.errors import DomainError

logger = logging.getLogger(__name__)


@app.task(name="shoploop.ledger.tasks.deliver_sandbox_callback")
def deliver_sandbox_callback(*, event_id: str, payment_public_id: str, kind: str, amount: int):
    """The sandbox provider's side: sign a callback and hand it to the webhook handler, exactly
    as its HTTP POST to ``webhooks/sandbox/`` would."""
    from shoploop.ledger.providers.sandbox import signed_callback
    from shoploop.ledger.services import payments

    body, headers = signed_callback(
        event_id=event_id, payment_public_id=payment_public_id, kind=kind, amount=amount
    )
    try:
        payments.handle_callback(provider="sandbox", body=body, headers=headers)
    except DomainError:
        logger.exception("sandbox callback %s was refused", event_id)


@app.task(name="shoploop.ledger.tasks.process_refund")
def process_refund_task(*, refund_public_id: str):
    from shoploop.ledger.models import Refund
    from shoploop.ledger.services import payments

    refund = Refund.objects.select_related("payment").filter(public_id=refund_public_id).first()
    if refund is not None:
        payments.process_refund(refund=refund)
