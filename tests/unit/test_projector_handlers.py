"""Projectors dispatch on the event's class to one typed handler per class
(``functools.singledispatch``), and handle exactly the classes they have a handler for: the
engine decodes only those."""

import functools

from ledger.domain.base import LedgerAggregate
from ledger.domain.reference import PaymentReference
from ledger.domain.request import Request
from ledger.domain.transaction import Transaction
from ledger.domain.user import User
from ledger.domain.wallet import Wallet
from projections.audit_chain import AuditChain
from projections.dispatch import Handlers
from projections.ledger_tables import LedgerTables
from projections.notifications.outbox import Outbox

EVENT_CLASSES = {
    cls
    for aggregate in (User, Request, Transaction, Wallet, PaymentReference)
    for cls in vars(aggregate).values()
    if isinstance(cls, type)
    and issubclass(cls, LedgerAggregate.Event)
    and cls.__name__ not in ("Event", "Created")  # the library's bases of each aggregate
}


def test_the_core_tables_handle_every_event_but_the_reference_claim() -> None:
    projector = LedgerTables()
    handled = {cls for cls in EVENT_CLASSES if projector.handles(cls)}
    assert handled == EVENT_CLASSES - {PaymentReference.ReferenceClaimed}
    assert LedgerTables._handlers.handled == handled


def test_the_outbox_handles_only_the_events_that_feed_its_lookups_or_its_messages() -> None:
    handled = {cls for cls in EVENT_CLASSES if Outbox().handles(cls)}
    assert handled == {
        User.UserRegistered,
        Request.RequestCreated,
        Request.RequestDeclined,
        Transaction.PaymentInitiated,
        Transaction.FailedTransactionRecorded,
        Transaction.PaymentVerified,
        Transaction.PaymentFlagged,
        Transaction.EscrowReleased,
        Transaction.EscrowRefunded,
        Transaction.RefundConfirmed,
        Transaction.ReviewResolved,
        Wallet.WalletCreated,
    }


def test_the_audit_chain_handles_every_event() -> None:
    assert all(AuditChain().handles(cls) for cls in EVENT_CLASSES)


class _Base:
    pass


class _Registered(_Base):
    pass


class _Subclass(_Registered):
    pass


@functools.singledispatch
def _handle(event: object) -> str:
    return "fallback"


@_handle.register
def _registered(event: _Registered) -> str:
    return "registered"


def test_handlers_resolve_a_class_as_singledispatch_does_and_the_fallback_is_not_handled() -> None:
    handlers = Handlers(_handle)
    assert handlers.get(_Registered) is _registered
    assert handlers.get(_Subclass) is _registered
    assert handlers.get(_Base) is None
    assert handlers.handles(_Subclass)
    assert not handlers.handles(_Base)
    assert handlers.handled == {_Registered}


def test_handlers_take_a_singledispatchmethod() -> None:
    class Projector:
        @functools.singledispatchmethod
        def on(self, event: object) -> str:
            return "fallback"

        @on.register
        def _on_registered(self, event: _Registered) -> str:
            return "registered"

        handlers: Handlers[str] = Handlers(on)

    handler = Projector.handlers.get(_Subclass)
    assert handler is not None
    assert handler(Projector(), _Subclass()) == "registered"
    assert Projector.handlers.get(int) is None
