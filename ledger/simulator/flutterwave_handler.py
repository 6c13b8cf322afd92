"""The Flutterwave simulator's HTTP routes (see ``ledger.simulator.flutterwave`` for what it
simulates and how to script it).

Every API call is recorded, then gets its latency and its next scripted fault, then the bearer
check, then its route. Bodies are read with ``Decimal`` numbers and written with
``flutterwave_amounts.dumps``, so amounts stay exact both ways.
"""

import copy
import json
import logging
import socket
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ledger.providers.flutterwave_amounts import dumps, loads
from ledger.simulator.flutterwave_state import FwState, Refusal, new_id, now_iso

log = logging.getLogger("ledger.simulator")
TOKEN_PATH = "/realms/flutterwave/protocol/openid-connect/token"  # noqa: S105 - a path
_HTML = b"<!doctype html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
Answer = tuple[int, dict[str, Any]]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def state(self) -> FwState:
        state: FwState = getattr(self.server, "state")  # noqa: B009 - set by the server class
        return state

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("flutterwave simulator %s", format % args)

    # -- plumbing --------------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes | dict[str, Any],
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        drip: float | None = None,
    ) -> None:
        raw = body if isinstance(body, bytes) else dumps(body)
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if drip is None:
                self.wfile.write(raw)
                return
            for i in range(len(raw)):
                self.wfile.write(raw[i : i + 1])
                self.wfile.flush()
                time.sleep(drip)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its deadline): nothing left to answer

    def _raw_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json(self) -> Any:
        try:
            return loads(self._raw_body() or b"{}")
        except (ValueError, UnicodeDecodeError):
            return None

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        return header.startswith("Bearer ") and self.state.token_valid(header[7:])

    def _fault(self, route: str, reference: str | None) -> tuple[bool, dict[str, Any]]:
        """Latency, then the next fault: True when its answer was sent; otherwise the fault's
        effects still to apply to the real answer (``drip``, ``lost_answer``, ``invalid``)."""
        state = self.state
        if state.latency_ms:
            time.sleep(state.latency_ms / 1000)
        fault = state.take_fault(route, reference) or {}
        if fault.get("revoke_tokens"):
            with state.lock:
                state.tokens.clear()
        if "timeout" in fault:
            time.sleep(float(fault["timeout"]))
        if fault.get("html"):
            self._send(int(fault.get("http", 502)), _HTML, content_type="text/html")
            return True, {}
        if fault.get("malformed"):
            self._send(200, b'{"status": "success", "data": {"id": ')
            return True, {}
        if "http" in fault:
            status = int(fault["http"])
            headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else {}
            kind = {401: "UNAUTHORIZATION", 403: "FORBIDDEN", 429: "TOO_MANY_REQUESTS"}
            refusal = Refusal(status, kind.get(status, "INTERNAL_SERVER_ERROR"), "Scripted fault")
            self._send(status, refusal.body(), headers=headers)
            return True, {}
        return False, fault

    def _api(self, route: str, reference: str | None, answer: Any) -> None:
        """Record, fault, authorise, then send ``answer()`` with the fault's effects."""
        with self.state.lock:
            self.state.calls.append({"route": route, "path": self.path, "at": now_iso()})
        answered, fault = self._fault(route, reference)
        if answered:
            return
        if route != "token" and not self._authorised():
            refusal = Refusal(401, "UNAUTHORIZATION", "Invalid authorization token")
            self._send(401, refusal.body())
            return
        try:
            status, body = answer()
        except Refusal as refusal:
            status, body = refusal.status, refusal.body()
        if fault.get("lost_answer") and status < 300:
            status, body = 504, Refusal(504, "GATEWAY_TIMEOUT", "Upstream timed out").body()
        elif fault.get("invalid") and status < 300:
            body = _mangled(body, str(fault["invalid"]))
        self._send(status, body, drip=fault.get("drip"))

    # -- routes ----------------------------------------------------------------------------

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/_sim/state":
            self._send(200, snapshot(self.state))
        elif url.path == "/transfers":
            self._api("list_transfers", None, lambda: self._list(parse_qs(url.query)))
        elif url.path.startswith("/transfers/") and url.path.count("/") == 2:
            ident = unquote(url.path.removeprefix("/transfers/"))
            with self.state.lock:
                found = self.state.transfers.get(ident)
            reference = found["reference"] if found else None
            self._api("get_transfer", reference, lambda: self._get(ident))
        else:
            self._send(404, b"<html>Not Found</html>", content_type="text/html")

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path == TOKEN_PATH:
            form = parse_qs(self._raw_body().decode("utf-8", errors="replace"))
            self._api("token", None, lambda: self._token(form))
            return
        body = self._json()
        if body is None or not isinstance(body, dict):
            self._send(400, Refusal(400, "REQUEST_NOT_VALID", "Invalid JSON payload").body())
            return
        routes = {
            "/banks/account-resolve": ("resolve", None, lambda: self._resolve(body)),
            "/transfers/recipients": ("recipient", None, lambda: self._recipient(body)),
            "/transfers": ("create_transfer", body.get("reference"), lambda: self._create(body)),
        }
        if path in routes:
            route, reference, answer = routes[path]
            self._api(route, reference if isinstance(reference, str) else None, answer)
        elif path.startswith("/_sim/"):
            self._control(path.removeprefix("/_sim/"), body)
        else:
            self._send(404, b"<html>Not Found</html>", content_type="text/html")

    def _token(self, form: dict[str, list[str]]) -> Answer:
        def one(name: str) -> str:
            return (form.get(name) or [""])[0]

        token = None
        if one("grant_type") == "client_credentials":
            token = self.state.issue_token(one("client_id"), one("client_secret"))
        if token is None:
            return 401, {
                "error": "invalid_client",
                "error_description": "Invalid client or Invalid client credentials",
            }
        answer = {
            "access_token": token,
            "expires_in": self.state.token_ttl,
            "refresh_expires_in": 0,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "scope": "profile email",
        }
        return 200, answer

    def _resolve(self, body: dict[str, Any]) -> Answer:
        account = _object(body.get("account"))
        code, number = str(account.get("code") or ""), str(account.get("number") or "")
        name = self.state.resolve(code, number)
        data = {"bank_code": code, "account_number": number, "account_name": name}
        return 200, {"status": "success", "message": "Account details fetched", "data": data}

    def _recipient(self, body: dict[str, Any]) -> Answer:
        bank = _object(body.get("bank"))
        kind = str(body.get("type") or "")
        code, number = str(bank.get("code") or ""), str(bank.get("account_number") or "")
        if not kind.startswith("bank_") or not code or not number:
            raise Refusal(400, "REQUEST_NOT_VALID", "type, bank.code and bank.account_number")
        self.state.resolve(code, number)
        name = _object(body.get("name"))
        recipient: dict[str, Any] = {
            "id": new_id("rcb"),
            "type": "bank",
            "name": {"first": name.get("first"), "middle": None, "last": name.get("last")},
            "currency": kind.removeprefix("bank_").upper(),
            "bank": {"account_number": number, "code": code},
        }
        with self.state.lock:
            self.state.recipients[recipient["id"]] = recipient
        message = "Transfer recipient created"
        return 201, {"status": "success", "message": message, "data": recipient}

    def _create(self, body: dict[str, Any]) -> Answer:
        key = self.headers.get("X-Idempotency-Key") or None
        transfer, new = self.state.create_transfer(body, key)
        data = self.state.transfer_json(transfer)
        if new:
            self.state.schedule(transfer["reference"])
        return 201, {"status": "success", "message": "Transfer created", "data": data}

    def _get(self, ident: str) -> Answer:
        with self.state.lock:
            transfer = self.state.transfers.get(ident)
        if transfer is None:
            raise Refusal(404, "RESOURCE_NOT_FOUND", "Transfer not found")
        data = self.state.transfer_json(transfer)
        return 200, {"status": "success", "message": "Transfer fetched", "data": data}

    def _list(self, query: dict[str, list[str]]) -> Answer:
        try:
            page = int((query.get("page") or ["1"])[0])
            size = int((query.get("size") or ["10"])[0])
        except ValueError:
            raise Refusal(400, "INVALID_PAGINATION_TYPE", "page and size are numbers") from None
        if page < 1 or not 1 <= size <= 50:
            raise Refusal(400, "INVALID_PAGINATION_TYPE", "page >= 1 and 1 <= size <= 50")
        return 200, self.state.page(page, size)

    def _control(self, action: str, body: dict[str, Any]) -> None:
        state, reference = self.state, str(body.get("reference") or "")
        try:
            if action == "script":
                state.apply_script(body)
            elif action == "reset":
                state.reset()
            elif action == "settle":
                state.settle(reference, str(body.get("status") or "SUCCESSFUL"))
            elif action == "reverse":
                state.reverse(reference)
            elif action == "plant":
                amount = Decimal(str(body.get("amount")))
                currency = str(body.get("currency") or "NGN")
                final = str(body.get("status") or "SUCCESSFUL").upper()
                planted = state.plant(reference, amount, currency, final)
                self._send(200, {"status": "success", "id": planted["id"]})
                return
            elif action == "webhook":
                raw = body.get("raw")
                status, text = state.send_webhook(
                    reference,
                    url=body.get("url"),
                    signature=body.get("signature"),
                    unsigned=bool(body.get("unsigned")),
                    raw=str(raw).encode() if raw is not None else None,
                )
                self._send(200, {"status": "success", "delivered_status": status, "answer": text})
                return
            else:
                self._send(404, {"status": "failed", "message": f"no control {action!r}"})
                return
        except (KeyError, ValueError, ArithmeticError, Refusal) as exc:
            self._send(400, {"status": "failed", "message": f"bad {action} request: {exc}"})
            return
        self._send(200, {"status": "success", "message": action})


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _mangled(body: dict[str, Any], how: str) -> dict[str, Any]:
    """``body`` with its (first) transfer made untrustworthy in the way ``how`` names."""
    body = copy.deepcopy(body)
    data = body.get("data")
    target = data[0] if isinstance(data, list) and data else data
    if not isinstance(target, dict):
        return body
    if how == "unknown_status":
        target["status"] = "SETTLED"
    elif how == "other_reference":
        target["reference"] = "vyb_someone_else"
    elif how == "fractional_amount" and isinstance(target.get("amount"), dict):
        target["amount"]["value"] = Decimal(target["amount"]["value"]) + Decimal("0.001")
    elif how == "missing_field":
        target.pop("id", None)
    return body


def snapshot(state: FwState) -> dict[str, Any]:
    with state.lock:
        view = {
            "transfers": list(state.transfers.values()),
            "recipients": list(state.recipients.values()),
            "calls": list(state.calls),
            "deliveries": list(state.deliveries),
            "scripts": state.scripts,
        }
        result: dict[str, Any] = json.loads(json.dumps(view, default=str))
    return result


__all__ = ["TOKEN_PATH", "Handler", "snapshot"]
