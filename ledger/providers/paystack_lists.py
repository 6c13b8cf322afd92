"""Reading Paystack's list answers, ``GET /refund`` and ``GET /transaction``: one page of items
and Paystack's offset-paging ``meta`` (``total``, ``skipped``, ``perPage``, ``page``,
``pageCount``; docs/providers.md, "Listing").

Each answer is exactly one class, as for verify:

    2xx, status true, ``data`` a list of well-formed items, ``meta``
        with the page asked for                                     -> ProviderPage
    HTTP 401/403; a body that is not JSON; HTTP 404 (a list is never
        "not found": an empty list is ``data: []``); a status other
        than 2xx, 400, 422                                           -> ProviderMisconfigured
    HTTP 400/422 (Paystack refused the query); status not true;
        ``data`` not a list; an invalid item (named by its index,
        ``data[3].amount``); ``meta`` missing or not numbers; a page
        other than the one asked for; an item outside the filter
        asked for (another ``reference``, ``currency`` or ``status``) -> ProviderAnswerInvalid

An item outside the filter makes the whole page invalid on purpose: a caller that asked for the
refunds of one payment acts on what comes back (the refund resolver may send a refund when it
finds none), so a list that ignored the filter must never pass for an answer. ``perPage`` may be
a number or a string of digits (both are seen). One invalid item makes the page invalid: a
reconciliation over a partial page would report divergences that are not there.
"""

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from ledger.providers.http import invalid, misconfigured, read_json
from ledger.providers.paystack_answers import TransactionInvalid, parse_transaction
from ledger.providers.paystack_envelope import key_refused, said, success_payload
from ledger.providers.paystack_refunds import RefundInvalid, parse_refund
from ledger.providers.port import ListedTransaction, ProviderPage, RefundAnswer

PROVIDER = "paystack"
T = TypeVar("T")


def classify_refund_list(
    response: httpx.Response,
    *,
    page: int,
    reference: str | None,
    currency: str | None,
    safe: Callable[[str], str],
) -> ProviderPage[RefundAnswer]:
    """One answer to ``GET /refund`` asked for ``page`` (module docstring)."""
    what = "list of refunds"

    def item(index: int, data: object) -> RefundAnswer:
        try:
            answer = parse_refund(data, prefix=f"data[{index}]")
        except RefundInvalid as exc:
            raise invalid(PROVIDER, what, response, str(exc)) from None
        named = answer.transaction_reference
        if reference is not None and named is not None and named != reference:
            reason = f"data[{index}].transaction_reference: another reference than asked for"
            raise invalid(PROVIDER, what, response, reason)
        if currency is not None and answer.currency != currency.upper():
            reason = f"data[{index}].currency: another currency than asked for"
            raise invalid(PROVIDER, what, response, reason)
        return answer

    return _page(response, what, page, item, safe)


def classify_transaction_list(
    response: httpx.Response,
    *,
    page: int,
    status: str | None,
    safe: Callable[[str], str],
) -> ProviderPage[ListedTransaction]:
    """One answer to ``GET /transaction`` asked for ``page`` (module docstring)."""
    what = "list of transactions"

    def item(index: int, data: object) -> ListedTransaction:
        try:
            body = parse_transaction(data)
        except TransactionInvalid as exc:
            reason = str(exc).replace("data", f"data[{index}]", 1)
            raise invalid(PROVIDER, what, response, reason) from None
        if status is not None and body.status != status:
            reason = f"data[{index}].status: another status than asked for"
            raise invalid(PROVIDER, what, response, reason)
        verification = body.verification()
        return ListedTransaction(
            verification=verification,
            provider_transaction_id=str(body.id),
            reference=body.reference,
            status=body.status,
            amount=body.amount,
            currency=verification.currency,
            requested_amount=body.requested_amount,
            paid_at=body.paid_at or body.paid_at_camel,
            created_at=body.created_at or body.created_at_camel,
        )

    return _page(response, what, page, item, safe)


def _page(
    response: httpx.Response,
    what: str,
    asked: int,
    item: Callable[[int, object], T],
    safe: Callable[[str], str],
) -> ProviderPage[T]:
    code = response.status_code
    if code in (401, 403):
        raise key_refused(what, response, code, safe)
    payload = read_json(response, provider=PROVIDER, what=what)
    if code == 404:
        reason = "HTTP 404 to a list (a wrong PAYSTACK_URL?): an empty list is data []"
        raise misconfigured(PROVIDER, what, response, reason)
    if code in (400, 422):
        raise invalid(PROVIDER, what, response, f"refused (HTTP {code}): {said(payload, safe)}")
    if not 200 <= code < 300:
        raise misconfigured(PROVIDER, what, response, f"unexpected HTTP {code}")
    body = success_payload(payload, what, response, safe)
    data = body.get("data")
    if not isinstance(data, list):
        raise invalid(PROVIDER, what, response, "data: not a list")
    meta = _meta(body.get("meta"))
    if isinstance(meta, str):
        raise invalid(PROVIDER, what, response, meta)
    total, page, page_count, per_page = meta
    if page != asked:
        raise invalid(PROVIDER, what, response, f"meta.page: page {page} where {asked} was asked")
    items = tuple(item(index, entry) for index, entry in enumerate(data))
    return ProviderPage(items, total=total, page=page, page_count=page_count, per_page=per_page)


def _meta(meta: object) -> tuple[int, int, int, int] | str:
    """(total, page, pageCount, perPage) from Paystack's ``meta``, or why it is unusable."""
    if not isinstance(meta, Mapping):
        return "meta: missing or not an object"
    found: list[int] = []
    for name in ("total", "page", "pageCount", "perPage"):
        value: Any = meta.get(name)
        if isinstance(value, str) and value.isdigit() and name == "perPage":
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"meta.{name}: missing or not a count"
        found.append(value)
    total, page, page_count, per_page = found
    if page < 1 or per_page < 1:
        return "meta: page and perPage must be at least 1"
    return total, page, page_count, per_page


__all__ = ["classify_refund_list", "classify_transaction_list"]
