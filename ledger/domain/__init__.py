"""The pure domain: money, the User, Request, Transaction, Wallet and PaymentReference
aggregates, and the escrow rules that span them.

Imports only the standard library and ``eventsourcing.domain`` (a test enforces it).
"""

from ledger.domain.base import LedgerAggregate, Stamp
from ledger.domain.fees import check_fee_bps, split_fee
from ledger.domain.money import CURRENCIES, MAX_AMOUNT, Money, format_major
from ledger.domain.reference import PaymentReference
from ledger.domain.request import DeclineReason, Request, RequestStatus
from ledger.domain.transaction import (
    EscrowStatus,
    FlagReason,
    ReleaseTrigger,
    TimeoutReason,
    Transaction,
    TxStatus,
)
from ledger.domain.user import Role, User
from ledger.domain.wallet import Wallet

__all__ = [
    "CURRENCIES",
    "MAX_AMOUNT",
    "DeclineReason",
    "EscrowStatus",
    "FlagReason",
    "LedgerAggregate",
    "Money",
    "PaymentReference",
    "ReleaseTrigger",
    "Request",
    "RequestStatus",
    "Role",
    "Stamp",
    "TimeoutReason",
    "Transaction",
    "TxStatus",
    "User",
    "Wallet",
    "check_fee_bps",
    "format_major",
    "split_fee",
]
