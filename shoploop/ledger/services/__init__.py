"""Every write to the ledger. Transfers and holds live in ``transfers``; payments and payouts
build on them in their own modules."""

from shoploop.ledger.services.transfers import (
    DEFAULT_LIMITS,
    TransferSpec,
    expire_due_pending,
    open_account,
    post_hold,
    transfer,
    transfer_linked,
    void_hold,
)

__all__ = [
    "DEFAULT_LIMITS",
    "TransferSpec",
    "expire_due_pending",
    "open_account",
    "post_hold",
    "transfer",
    "transfer_linked",
    "void_hold",
]
