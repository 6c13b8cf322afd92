"""The Flutterwave v4 transfers client: the ``PayoutProvider`` port over Flutterwave's REST API.

Endpoints (docs/providers.md "Flutterwave transfers"): ``POST /banks/account-resolve``,
``POST /transfers/recipients``, ``POST /transfers`` (the general transfer flow: an existing
recipient by ``recipient_id``), ``GET /transfers/{id}``, ``GET /transfers?page=&size=``.

Invariants:
- Every call carries the token the refresh job keeps in ``provider_tokens`` (read through the
  ``TokenSource``, ``FlutterwaveTokenManager`` in production). A 401 replaces the token once,
  single flight across processes, and the call is sent once more; a second 401 is
  ``ProviderMisconfigured``.
- ``create_transfer`` always sends ``X-Idempotency-Key``; the same key gets the same transfer
  from Flutterwave, so the call is retried after a timeout or a 5xx like a read. A 409 (the
  reference is taken) is answered with the transfer that holds it, if it is this one.
- Each attempt ends within ``FLUTTERWAVE_TIMEOUT`` from connect to last byte; retries follow
  ``ledger.providers.http``. Answers fall in the port's five classes (``payout_port``).
- Amounts leave as exact major-unit decimals and come back as exact minor units; an amount
  that does not convert is an invalid answer. The token, the client secret and account numbers
  never appear in a log line, an exception or a repr (account numbers: last four digits).
"""

import random
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from urllib.parse import quote

import httpx

from ledger.config import Settings
from ledger.errors import (
    AnswerDigest,
    ConfigError,
    InvalidInput,
    ProviderAnswerInvalid,
    ProviderUnavailable,
)
from ledger.providers.flutterwave import FlutterwaveTokenManager
from ledger.providers.flutterwave_amounts import EXPONENTS, to_major
from ledger.providers.flutterwave_http import FlutterwaveHttp, TokenSource
from ledger.providers.flutterwave_models import (
    AnswerProblem,
    ListAnswer,
    RecipientData,
    ResolvedData,
    parse_transfer,
)
from ledger.providers.http import OwnsHttpClient, RetryPolicy
from ledger.providers.payout_port import (
    PayoutLookupIncomplete,
    Recipient,
    ResolvedAccount,
    Transfer,
    TransferPage,
    UnreadableTransfer,
    check_account_number,
    check_bank_code,
    check_reference,
    mask_account,
)

DEFAULT_PAGE_SIZE = 50
MAX_SEARCH_PAGES = 200


class FlutterwaveTransfers:
    """Flutterwave v4 account resolution, recipients and transfers. Thread-safe; close it (or
    use it as a context manager) unless the ``httpx.Client`` was injected."""

    def __init__(
        self,
        *,
        tokens: TokenSource,
        base_url: str,
        timeout: float = 5.0,
        retry: RetryPolicy | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.page_size = page_size
        self._owned: list[OwnsHttpClient] = []
        self._http = FlutterwaveHttp(
            tokens=tokens,
            base_url=base_url,
            timeout=timeout,
            retry=retry,
            client=client,
            transport=transport,
            sleep=sleep,
            rand=rand,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        tokens: TokenSource | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> "FlutterwaveTransfers":
        """A client configured by the ``FLUTTERWAVE_*`` settings, reading the token from the
        ledger's database (unless ``tokens`` is given); ``ConfigError`` naming what is
        missing. Connects to nothing until used."""
        if not settings.flutterwave_url:
            raise ConfigError("Flutterwave payouts are not configured: set FLUTTERWAVE_URL")
        owned = None
        source: TokenSource
        if tokens is None:
            owned = FlutterwaveTokenManager.from_settings(settings)
            if not owned.enabled:
                raise ConfigError(
                    "Flutterwave is not configured: set FLUTTERWAVE_CLIENT_ID, "
                    "FLUTTERWAVE_CLIENT_SECRET and FLUTTERWAVE_TOKEN_URL"
                )
            source = owned
        else:
            source = tokens
        client = cls(
            tokens=source,
            base_url=settings.flutterwave_url,
            timeout=settings.flutterwave_timeout.total_seconds(),
            retry=RetryPolicy(max_retries=settings.flutterwave_max_retries),
            transport=transport,
        )
        if owned is not None:
            client._owned.append(owned)
        return client

    @property
    def base_url(self) -> str:
        return self._http.base_url

    def close(self) -> None:
        """Close the HTTP client (unless injected) and a token manager made by
        ``from_settings``."""
        self._http.close()
        for owned in self._owned:
            owned.close()

    def __enter__(self) -> "FlutterwaveTransfers":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"FlutterwaveTransfers(base_url={self._http.base_url!r}, "
            f"timeout={self._http.timeout}, max_retries={self._http.retry.max_retries})"
        )

    # -- the port --------------------------------------------------------------------------

    def resolve_account(
        self, bank_code: str, account_number: str, *, currency: str = "NGN"
    ) -> ResolvedAccount:
        """``POST /banks/account-resolve``: the holder's name as the bank gives it."""
        bank_code = check_bank_code(bank_code)
        account_number = check_account_number(account_number)
        what = f"account resolution of {mask_account(account_number)} at bank {bank_code}"
        body = {"account": {"code": bank_code, "number": account_number}, "currency": currency}
        answers = self._http.request(
            "POST", "/banks/account-resolve", what, body=body, accounts=(account_number,)
        )
        data = answers.data(ResolvedData)
        if data.account_number != account_number or data.bank_code != bank_code:
            raise answers.invalid("the answer is about another account")
        return ResolvedAccount(bank_code, account_number, data.account_name.strip())

    def create_recipient(
        self,
        *,
        bank_code: str,
        account_number: str,
        account_name: str,
        currency: str = "NGN",
        idempotency_key: str | None = None,
    ) -> Recipient:
        """``POST /transfers/recipients`` of type ``bank_<currency>``. The name is split at its
        first space into first and last name (Flutterwave's ``name`` object)."""
        bank_code = check_bank_code(bank_code)
        account_number, currency = check_account_number(account_number), _cur(currency)
        first, _, last = " ".join(account_name.split()).partition(" ")
        if not first:
            raise InvalidInput("an account name is required to create a recipient")
        body = {
            "type": f"bank_{currency.lower()}",
            "name": {"first": first, "last": last or first},
            "bank": {"account_number": account_number, "code": bank_code},
        }
        what = f"recipient for {mask_account(account_number)} at bank {bank_code}"
        answers = self._http.request(
            "POST",
            "/transfers/recipients",
            what,
            body=body,
            key=idempotency_key,
            accounts=(account_number,),
        )
        data = answers.data(RecipientData)
        if data.bank is not None and data.bank.account_number != account_number:
            raise answers.invalid("the recipient answered is for another account")
        return Recipient(
            id=data.id,
            bank_code=bank_code,
            account_last4=account_number[-4:],
            currency=(data.currency or currency).upper(),
            name=" ".join(account_name.split()),
        )

    def create_transfer(
        self,
        *,
        reference: str,
        amount: int,
        currency: str,
        recipient_id: str,
        narration: str,
        idempotency_key: str,
    ) -> Transfer:
        """``POST /transfers`` (action ``instant``) of ``amount`` minor units to an existing
        recipient, with ``X-Idempotency-Key``. The answer must echo this reference, amount,
        currency and recipient; a 409 returns the transfer already holding the reference."""
        reference, currency = check_reference(reference), _cur(currency)
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise InvalidInput("a transfer amount must be a positive integer of minor units")
        if not recipient_id.strip() or not idempotency_key.strip():
            raise InvalidInput("a transfer needs a recipient id and an idempotency key")
        narration = " ".join(narration.split())[:100]
        body = {
            "action": "instant",
            "reference": reference,
            "narration": narration,
            "payment_instruction": {
                "source_currency": currency,
                "amount": {
                    "value": to_major(amount, currency),
                    "applies_to": "destination_currency",
                },
                "recipient_id": recipient_id,
            },
        }
        answers = self._http.request(
            "POST",
            "/transfers",
            f"transfer {reference}",
            body=body,
            key=idempotency_key,
            conflict_ok=True,
        )
        if answers.response.status_code == 409:
            existing = self.find_transfer(reference)
            if existing is None:
                raise ProviderUnavailable(
                    f"flutterwave says reference {reference} is taken but lists no transfer "
                    "with it yet; the outcome is unknown, check again before sending another"
                )
            transfer = existing
        else:
            transfer = answers.transfer()
        expected = (reference, amount, currency)
        if (transfer.reference, transfer.amount, transfer.currency) != expected or (
            transfer.recipient_id not in (None, recipient_id)
        ):
            raise answers.invalid(
                f"transfer {transfer.id} does not match the request (reference, amount, "
                "currency or recipient differ)"
            )
        return transfer

    def get_transfer(self, transfer_id: str) -> Transfer | None:
        """``GET /transfers/{id}``; None when Flutterwave answers its not-found error."""
        if not transfer_id.strip():
            raise InvalidInput("a transfer id is required")
        path = f"/transfers/{quote(transfer_id, safe='')}"
        answers = self._http.request("GET", path, f"transfer {transfer_id}", not_found_ok=True)
        if answers.not_found:
            return None
        transfer = answers.transfer()
        if transfer.id != transfer_id:
            raise answers.invalid("the answer is about another transfer")
        return transfer

    def list_transfers(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        page: int = 1,
    ) -> TransferPage:
        """One page of ``GET /transfers``, keeping transfers created in ``[since, until)``
        (a transfer without a creation time is kept). Listed items that fail validation are
        in ``unreadable``, never dropped."""
        if page < 1:
            raise InvalidInput("pages start at 1")
        params = {"page": str(page), "size": str(self.page_size)}
        what = f"transfer list page {page}"
        answers = self._http.request("GET", "/transfers", what, params=params)
        listed = answers.data(ListAnswer, whole=True)
        info = listed.meta.page_info
        if info.current_page != page:
            raise answers.invalid(f"asked for page {page}, got page {info.current_page}")
        transfers, unreadable = [], []
        for i, item in enumerate(listed.data):
            try:
                transfer = parse_transfer(item, prefix=f"data[{i}]")
            except AnswerProblem as problem:
                unreadable.append(_unreadable(item, str(problem)))
                continue
            at = transfer.created_at
            if at is None or ((since is None or at >= since) and (until is None or at < until)):
                transfers.append(transfer)
        return TransferPage(
            tuple(transfers), info.current_page, info.total_pages, info.total, tuple(unreadable)
        )

    def find_transfer(
        self, reference: str, *, max_pages: int = MAX_SEARCH_PAGES
    ) -> Transfer | None:
        """The transfer carrying ``reference``, searched page by page through the list (v4
        documents no filter by reference) up to the first page that has it (Flutterwave refuses
        a second transfer with a reference: 409). None only after the whole list was read;
        ``PayoutLookupIncomplete`` when ``max_pages`` ran out first."""
        reference = check_reference(reference)
        found: dict[str, Transfer] = {}
        for number in range(1, max_pages + 1):
            page = self.list_transfers(page=number)
            for bad in page.unreadable:
                if bad.reference == reference:
                    raise ProviderAnswerInvalid(
                        f"flutterwave lists a transfer with reference {reference} that cannot "
                        f"be read: {bad.reason}",
                        AnswerDigest("", 200, bad.reason),
                    )
            found.update({t.id: t for t in page.transfers if t.reference == reference})
            if found or not page.has_more:
                break
        else:
            raise PayoutLookupIncomplete(
                f"flutterwave search for {reference} stopped after {max_pages} pages without "
                "reaching the end of the list; nothing is decided, search again later"
            )
        if len(found) > 1:
            raise ProviderAnswerInvalid(
                f"flutterwave lists {len(found)} transfers with reference {reference}",
                AnswerDigest("", 200, "one reference, several transfers"),
            )
        return next(iter(found.values()), None)


def _unreadable(item: object, reason: str) -> UnreadableTransfer:
    fields = item if isinstance(item, Mapping) else {}
    ident, ref = fields.get("id"), fields.get("reference")
    return UnreadableTransfer(
        ident if isinstance(ident, str) else None, ref if isinstance(ref, str) else None, reason
    )


def _cur(currency: str) -> str:
    if currency not in EXPONENTS:
        raise InvalidInput(f"Flutterwave does not pay out in {currency[:8]!r}")
    return currency


__all__ = ["DEFAULT_PAGE_SIZE", "MAX_SEARCH_PAGES", "FlutterwaveTransfers", "TokenSource"]
