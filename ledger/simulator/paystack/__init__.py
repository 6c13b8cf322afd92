"""A Paystack simulator on loopback: transactions (initialize, verify, list), refunds (create,
fetch, list, and each refund's lifecycle with its signed webhooks), and a control API.

It answers in the shapes of Paystack's API reference (the repository's tests/fixtures/paystack)
so the product can be exercised end to end without the internet: ``ledger demo``, the e2e
tests and ``ledger simulator paystack`` point ``PAYSTACK_URL`` at it, and nothing in the
product treats it specially. docs/simulator.md lists every route, script key and fault.

Modules, by responsibility:

    state          everything it knows, behind one lock
    handler        HTTP plumbing: routing, the secret, faults that shape or replace answers
    paging         list queries: from/to windows and Paystack's offset paging
    transactions   initialize, verify, the transaction list; planting and reversing
    refund_records opening a refund (or refusing it), its statuses, its shapes
    refunds        the refund routes; dashboard refunds; advancing held refunds
    lifecycle      the thread that moves refunds on and sends their webhooks
    webhooks       webhook bodies, the signature, delivery
    control        the /_sim control routes and the route table
    server         PaystackSimulator

What it deliberately does not do: charge cards, or check anything beyond the bearer secret.
"""

from ledger.simulator.paystack.server import PaystackSimulator
from ledger.simulator.paystack.state import SimState
from ledger.simulator.paystack.webhooks import deliver_webhook, sign, webhook_body

__all__ = ["PaystackSimulator", "SimState", "deliver_webhook", "sign", "webhook_body"]
