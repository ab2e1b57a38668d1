"""Deadline handlers and the ledger reconciliation of crowdsourcing tasks."""

from shoploop.core.deadlines import register_deadline_handler
from shoploop.crowdtasks import services
from shoploop.crowdtasks.verification import check_task_rewards
from shoploop.ledger.verification import register_world_check

register_deadline_handler("crowdtasks.close_due")(services.close_due)
register_world_check("crowdtasks", check_task_rewards)
