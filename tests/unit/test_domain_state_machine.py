"""Hypothesis state machine over one request, its payment and the celebrity's wallet, driven
only through the escrow rules and the aggregates' commands (the pure domain, no store).

After every step (docs/design.md "Invariants"): a refused command wrote nothing; a command that
took effect, repeated at once, changes nothing; money is conserved; released or refunded at
most once; a declined request stays declined; replay gives exactly the live state.
"""

import contextlib
from collections.abc import Callable
from typing import Any

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ledger.domain import escrow
from ledger.domain.money import MAX_AMOUNT, Money
from ledger.domain.request import DeclineReason, Request, RequestStatus
from ledger.domain.transaction import ReleaseTrigger, TimeoutReason, Transaction, TxStatus
from ledger.domain.wallet import Wallet
from ledger.errors import DomainError
from tests.unit.helpers import AT, CELEBRITY, FAN, REQUEST_ID, given

Command = Callable[[], object]


class EscrowMachine(RuleBasedStateMachine):
    request: Request
    txn: Transaction | None
    wallet: Wallet
    history: dict[str, list[Any]]
    was_declined: bool

    @initialize(
        amount=st.integers(min_value=1, max_value=MAX_AMOUNT - 2),  # room to overpay
        stage=st.sampled_from(["no_payment", "payment_pending", "paid", "completed"]),
    )
    def open(self, amount: int, stage: str) -> None:
        """Start from a request at ``stage``, reached through the domain's own commands."""
        self.price = Money(amount, "NGN")
        self.request = Request.create(REQUEST_ID, FAN, CELEBRITY, self.price, AT)
        self.wallet = Wallet.open(CELEBRITY, "NGN", AT)
        self.txn = None
        if stage != "no_payment":
            self.txn = Transaction.initiate(REQUEST_ID, "ref-1", self.price, AT)
        if stage in ("paid", "completed"):
            assert self.txn is not None
            escrow.apply_success(
                self.txn,
                self.request,
                received=self.price,
                provider_status="success",
                provider_transaction_id="ps-1",
                paid_at=AT.business,
                at=AT,
            )
        if stage == "completed":
            self.request.complete(AT)
        self.history = {"request": [], "txn": [], "wallet": []}
        self.was_declined = False
        self._record()

    # -- harness ---------------------------------------------------------------------------

    def _aggregates(self) -> dict[str, Any]:
        found: dict[str, Any] = {"request": self.request, "wallet": self.wallet}
        if self.txn is not None:
            found["txn"] = self.txn
        return found

    def _record(self) -> int:
        count = 0
        for name, aggregate in self._aggregates().items():
            events = aggregate.collect_events()
            self.history[name].extend(events)
            for recorded in events:
                event(type(recorded).__name__)  # reached states, in --hypothesis-show-statistics
            count += len(events)
        return count

    def _run(self, command: Command) -> None:
        """Run ``command``: a refusal must write nothing; a command that took effect must,
        repeated at once, take no further effect (or be refused, writing nothing)."""
        versions = {name: agg.version for name, agg in self._aggregates().items()}
        try:
            command()
        except DomainError:
            for name, aggregate in self._aggregates().items():
                assert aggregate.collect_events() == [], f"refused command wrote to {name}"
                assert aggregate.version == versions.get(name, aggregate.version)
            return
        if self._record():
            with contextlib.suppress(DomainError):
                command()
            assert self._record() == 0, "repeating a command changed something"

    # -- rules -----------------------------------------------------------------------------

    @precondition(lambda self: self.txn is None)
    @rule()
    def initiate(self) -> None:
        if self.request.status is RequestStatus.PENDING:
            self.txn = Transaction.initiate(REQUEST_ID, "ref-1", self.price, AT)
            self._record()

    def _success(self, received: Money) -> None:
        txn = self.txn
        assert txn is not None
        self._run(
            lambda: escrow.apply_success(
                txn,
                self.request,
                received=received,
                provider_status="success",
                provider_transaction_id="ps-1",
                paid_at=AT.business,
                at=AT,
            )
        )

    @precondition(lambda self: self.txn is not None)
    @rule()
    def pay(self) -> None:
        self._success(self.price)

    @precondition(lambda self: self.txn is not None)
    @rule(outcome=st.sampled_from(["short", "over", "currency"]))
    def pay_wrongly(self, outcome: str) -> None:
        amount = self.price.amount
        received = {
            "short": Money(amount - 1, "NGN") if amount > 1 else Money(amount + 2, "NGN"),
            "over": Money(amount + 1, "NGN"),
            "currency": Money(amount, "GHS"),
        }[outcome]
        self._success(received)

    @precondition(lambda self: self.txn is not None)
    @rule(outcome=st.sampled_from(["failed", *TimeoutReason]))
    def payment_goes_wrong(self, outcome: str) -> None:
        txn = self.txn
        assert txn is not None
        if outcome == "failed":
            self._run(
                lambda: escrow.apply_failure(
                    txn, self.request, reason="failed", provider_status="failed", at=AT
                )
            )
        else:
            reason = TimeoutReason(outcome)
            self._run(lambda: escrow.apply_timeout(txn, self.request, reason=reason, at=AT))

    @rule()
    def request_time_out(self) -> None:
        if self.txn is None and self.request.status is RequestStatus.PENDING:
            changed = escrow.time_out_request(self.request, None, AT)
            self.txn = changed[0]  # type: ignore[assignment]
            self._record()
            return
        txn = self.txn
        self._run(lambda: escrow.time_out_request(self.request, txn, AT))

    @rule()
    def complete(self) -> None:
        self._run(lambda: self.request.complete(AT))

    @precondition(lambda self: self.txn is not None)
    @rule(fee_bps=st.integers(min_value=0, max_value=9_999))
    def release(self, fee_bps: int) -> None:
        txn = self.txn
        assert txn is not None
        self._run(
            lambda: escrow.release(
                txn,
                self.request,
                self.wallet,
                fee_bps=fee_bps,
                trigger=ReleaseTrigger.JOB,
                run_id="run",
                at=AT,
            )
        )

    @rule(
        reason=st.sampled_from(list(DeclineReason)),
        refund_reference=st.sampled_from([None, "rfnd-1"]),
    )
    def decline(self, reason: DeclineReason, refund_reference: str | None) -> None:
        txn = self.txn
        self._run(
            lambda: escrow.decline(
                self.request, txn, reason=reason, at=AT, refund_reference=refund_reference
            )
        )

    @precondition(lambda self: self.txn is not None)
    @rule()
    def admin_refund(self) -> None:
        txn = self.txn
        assert txn is not None
        self._run(lambda: txn.refund(reason="admin", refund_reference="rfnd-2", at=AT))

    @precondition(lambda self: self.txn is not None)
    @rule(reference=st.sampled_from(["rfnd-1", "rfnd-2"]))
    def confirm_refund(self, reference: str) -> None:
        txn = self.txn
        assert txn is not None
        self._run(lambda: txn.confirm_refund(reference, AT))

    @precondition(lambda self: self.txn is not None)
    @rule()
    def resolve(self) -> None:
        txn = self.txn
        assert txn is not None
        self._run(lambda: txn.resolve(operator="ops", note="settled", at=AT))

    @rule(amount=st.integers(min_value=1, max_value=MAX_AMOUNT))
    def payout(self, amount: int) -> None:
        self._run(lambda: self.wallet.debit(Money(amount, "NGN"), f"payout-{amount}", AT))

    # -- invariants ------------------------------------------------------------------------

    def _of(self, name: str, event_class: type) -> list[Any]:
        return [e for e in self.history[name] if isinstance(e, event_class)]

    @invariant()
    def nothing_is_left_pending(self) -> None:
        for aggregate in self._aggregates().values():
            assert aggregate.pending_events == []

    @invariant()
    def replay_gives_the_live_state(self) -> None:
        for name, aggregate in self._aggregates().items():
            assert vars(given(self.history[name])) == vars(aggregate)

    @invariant()
    def released_or_refunded_at_most_once(self) -> None:
        released = self._of("txn", Transaction.EscrowReleased)
        refunded = self._of("txn", Transaction.EscrowRefunded)
        assert len(released) + len(refunded) <= 1
        assert len(self._of("txn", Transaction.PaymentFlagged)) <= 1
        assert len(self._of("txn", Transaction.PaymentVerified)) <= 1

    @invariant()
    def money_is_conserved(self) -> None:
        txn = self.txn
        verified = sum(e.amount for e in self._of("txn", Transaction.PaymentVerified))
        released = sum(e.amount for e in self._of("txn", Transaction.EscrowReleased))
        fees = sum(e.fee for e in self._of("txn", Transaction.EscrowReleased))
        refunds = self._of("txn", Transaction.EscrowRefunded)
        flagged = sum(e.amount for e in self._of("txn", Transaction.PaymentFlagged))
        held = txn.amount if txn is not None and txn.is_held else 0
        refunded_held = sum(e.amount for e in refunds) if verified else 0
        refunded_flagged = sum(e.amount for e in refunds) if flagged else 0
        assert verified == held + released + refunded_held
        credits = sum(e.amount for e in self._of("wallet", Wallet.WalletCredited))
        assert released == credits + fees
        suspense = txn.flagged_amount if txn is not None and txn.in_suspense else 0
        resolved = flagged if self._of("txn", Transaction.ReviewResolved) else 0
        assert flagged == (suspense or 0) + refunded_flagged + resolved
        assert self.wallet.balance == self.wallet.credited - self.wallet.debited >= 0

    @invariant()
    def a_flagged_payment_is_never_treated_as_paid(self) -> None:
        mismatches = [
            e for e in self._of("txn", Transaction.PaymentFlagged) if e.reason != "late_success"
        ]
        if mismatches:
            assert not self._of("txn", Transaction.PaymentVerified)
            assert self.request.status in (RequestStatus.PENDING, RequestStatus.DECLINED)

    @invariant()
    def held_money_belongs_to_a_paid_request(self) -> None:
        if self.txn is not None and self.txn.is_held:
            assert self.request.status in (RequestStatus.IN_PROGRESS, RequestStatus.COMPLETED)
        if self.request.status in (RequestStatus.IN_PROGRESS, RequestStatus.COMPLETED):
            assert self.txn is not None
            assert self.txn.status is TxStatus.COMPLETED

    @invariant()
    def a_declined_request_is_never_reinstated(self) -> None:
        if self.was_declined:
            assert self.request.status is RequestStatus.DECLINED
        self.was_declined = self.request.status is RequestStatus.DECLINED


TestEscrowMachine = EscrowMachine.TestCase
