"""The Paystack client's refund and list calls (``PaystackClient`` mixes them in): what each
sends, and which reader classifies its answer (docs/providers.md, "Refunds" and "Listing").

    refund            POST /refund          ledger.providers.paystack_refunds, never replayed
                                            after a failure that may have reached Paystack
    get_refund        GET /refund/:id       ledger.providers.paystack_refunds
    list_refunds      GET /refund           ledger.providers.paystack_lists
    list_transactions GET /transaction      ledger.providers.paystack_lists
    iter_refunds, iter_transactions         every page, one in memory at a time

Arguments are checked by ``ledger.providers.paystack_queries`` before anything is sent. The
sending itself (headers, retries, deadline, logs) is the client's ``_call``.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from ledger.errors import InvalidInput
from ledger.providers.paystack_answers import STATUS_OUTCOMES
from ledger.providers.paystack_lists import classify_refund_list, classify_transaction_list
from ledger.providers.paystack_queries import (
    check_amount,
    check_currency,
    check_note,
    check_reference,
    check_refund_id,
    list_params,
)
from ledger.providers.paystack_refunds import classify_refund_create, classify_refund_fetch
from ledger.providers.port import ListedTransaction, ProviderPage, RefundAnswer, iter_pages


class PaystackRefundCalls(ABC):
    """Refunds and lists over the client's ``_call`` and ``_safe``."""

    @abstractmethod
    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        log_path: str | None = None,
        replay_safe: bool = True,
    ) -> httpx.Response: ...

    @abstractmethod
    def _safe(self, message: str) -> str: ...

    def refund(
        self,
        *,
        reference: str,
        amount: int,
        currency: str | None = None,
        merchant_note: str | None = None,
        customer_note: str | None = None,
    ) -> RefundAnswer:
        """``POST /refund`` of ``amount`` (minor units, at least 1) of the payment
        ``reference``, with ``currency`` and the notes when given (the ledger puts its refund
        key in ``merchant_note``, so that ``list_refunds`` can find the refund again).

        Accepted: a ``RefundAnswer`` (usually ``pending``). A definitive refusal:
        ``RefundRefused`` with Paystack's message (nothing was created). Otherwise the outcome
        may be unknown: ``ProviderUnavailable`` after a timeout, a dropped connection or a 5xx
        (never replayed), ``ProviderAnswerInvalid`` for a 2xx the client cannot read; both say
        to check with Paystack first. ``ProviderMisconfigured`` (401/403, not JSON, a wrong
        URL) means Paystack did not take it."""
        check_reference(reference)
        body: dict[str, Any] = {"transaction": reference, "amount": check_amount(amount)}
        if currency is not None:
            body["currency"] = check_currency(currency)
        if merchant_note is not None:
            body["merchant_note"] = check_note(merchant_note, "merchant_note")
        if customer_note is not None:
            body["customer_note"] = check_note(customer_note, "customer_note")
        response = self._call("POST", "/refund", "refund", json_body=body, replay_safe=False)
        return classify_refund_create(response, reference, safe=self._safe)

    def get_refund(self, refund_id: str) -> RefundAnswer | None:
        """``GET /refund/:id``: the refund Paystack knows by ``refund_id`` (the ``data.id``
        of ``POST /refund``), or None when Paystack answers that it has none."""
        refund_id = check_refund_id(refund_id)
        path = f"/refund/{quote(refund_id, safe='')}"
        response = self._call("GET", path, "fetch_refund")
        return classify_refund_fetch(response, refund_id, safe=self._safe)

    def list_refunds(
        self,
        *,
        reference: str | None = None,
        currency: str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> ProviderPage[RefundAnswer]:
        """``GET /refund``: one page of refunds, newest first, filtered by the refunded
        payment's ``reference``, ``currency`` and creation time (``from_``..``to``)."""
        params = list_params(from_=from_, to=to, page=page, per_page=per_page)
        if reference is not None:
            check_reference(reference)
            params["reference"] = reference
        if currency is not None:
            params["currency"] = currency = check_currency(currency)
        response = self._call("GET", "/refund", "list_refunds", params=params)
        return classify_refund_list(
            response, page=page, reference=reference, currency=currency, safe=self._safe
        )

    def list_transactions(
        self,
        *,
        from_: datetime,
        to: datetime,
        status: str | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> ProviderPage[ListedTransaction]:
        """``GET /transaction``: one page of the transactions created from ``from_`` to
        ``to``, with ``status`` (``success``, ``failed``, ``abandoned``, ``reversed``...)
        when given."""
        params = list_params(from_=from_, to=to, page=page, per_page=per_page)
        if status is not None:
            if status not in STATUS_OUTCOMES:
                raise InvalidInput(f"unknown Paystack transaction status {status!r}")
            params["status"] = status
        response = self._call("GET", "/transaction", "list_transactions", params=params)
        return classify_transaction_list(response, page=page, status=status, safe=self._safe)

    def iter_refunds(
        self,
        *,
        reference: str | None = None,
        currency: str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
        per_page: int = 50,
    ) -> Iterator[RefundAnswer]:
        """Every refund ``list_refunds`` finds with these filters, one page in memory at a
        time (``ledger.providers.port.iter_pages``)."""
        return iter_pages(
            lambda page: self.list_refunds(
                reference=reference,
                currency=currency,
                from_=from_,
                to=to,
                page=page,
                per_page=per_page,
            )
        )

    def iter_transactions(
        self, *, from_: datetime, to: datetime, status: str | None = None, per_page: int = 50
    ) -> Iterator[ListedTransaction]:
        """Every transaction ``list_transactions`` finds, one page in memory at a time."""
        return iter_pages(
            lambda page: self.list_transactions(
                from_=from_, to=to, status=status, page=page, per_page=per_page
            )
        )


__all__ = ["PaystackRefundCalls"]
