"""One log format for every process: logfmt lines (the default) or JSON lines.

Every line starts with ``ts=`` (UTC, ISO 8601 with milliseconds, ``Z``) and ``level=``
(``debug``, ``info``, ``warning``, ``error``, ``critical``), then ``logger=``, then the
message's own ``key=value`` pairs, rendered again so that the line is strict logfmt (values
with spaces, quotes, ``=`` or control characters quoted and escaped). A message that is not
``key=value`` pairs (a library's sentence, uvicorn's "Application startup complete.") becomes
``msg="..."``; an exception's traceback becomes one escaped ``exc="..."`` value, so a record is
always exactly one line. With ``LEDGER_LOG_FORMAT=json`` the same fields are one JSON object
per line, in the same order.

Each long-running entry point (``ledger serve``, ``ledger jobs run``, ``ledger projections
run``) calls ``configure_logging`` once at start-up; ``ledger serve`` hands uvicorn
``uvicorn_log_config`` (each worker process applies it). Libraries' loggers propagate to the
same handler: httpx and httpcore are held at ``warning`` (their ``HTTP Request: GET <url>``
lines carry query strings: references, filters), psycopg's pool at ``error`` (it would log
every failed reconnection attempt during an outage; the processes log the outage once
themselves), uvicorn's access log at ``warning`` (``ledger.api.access`` is ours). Python
warnings and exceptions escaping a thread are logged too, never printed raw.

What it deliberately does not do: decide what is logged (callers keep their ``key=value``
bodies; ``jobs.base.kv`` builds them) or carry secrets (nothing here adds any).
"""

import json
import logging
import re
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Final, TextIO

FORMATS: Final = ("logfmt", "json")
LEVELS: Final = ("debug", "info", "warning", "error")

# Library loggers and the level each is held at (records below it are dropped).
LIBRARY_LEVELS: Final = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "uvicorn.access": logging.WARNING,
    "psycopg.pool": logging.ERROR,
    "psycopg": logging.WARNING,
    "eventsourcing": logging.WARNING,
    "asyncio": logging.WARNING,
    "multipart": logging.WARNING,
}
HEAD: Final = ("ts", "level", "logger")

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*=")
_BARE = re.compile(r'[^\s"=\\]+')
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}


def quote(value: str) -> str:
    """``value`` as a logfmt value: bare when it can be, else quoted and escaped."""
    if _BARE.fullmatch(value) and value.isprintable():
        return value
    out = []
    for c in value:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif not c.isprintable():
            code = ord(c)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _read_quoted(text: str, start: int) -> tuple[str, int] | None:
    """The quoted value starting at ``text[start] == '"'`` and the index after it."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            width = {"u": 4, "U": 8}.get(nxt, 0)
            if width and i + 2 + width <= len(text):
                out.append(chr(int(text[i + 2 : i + 2 + width], 16)))
                i += 2 + width
                continue
            out.append(_UNESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return None


def message_pairs(message: str) -> list[tuple[str, str]] | None:
    """The ``key=value`` pairs of a message, read leniently, or None when it is free text.

    Quoted values may use backslash escapes; a word that follows a value without ``=`` is
    part of that value (``detail=no PAYSTACK_SECRET_KEY: webhooks get 401``)."""
    pairs: list[tuple[str, str]] = []
    i, n = 0, len(message)
    while i < n:
        if message[i].isspace():
            i += 1
            continue
        key = _KEY.match(message, i)
        if key is None:
            if not pairs:
                return None
            end = i
            while end < n and not message[end].isspace():
                end += 1
            name, value = pairs[-1]
            pairs[-1] = (name, f"{value} {message[i:end]}")
            i = end
            continue
        name = key.group()[:-1]
        i = key.end()
        if i < n and message[i] == '"':
            read = _read_quoted(message, i)
            if read is None:
                return None
            value, i = read
        else:
            end = i
            while end < n and not message[end].isspace():
                end += 1
            value, i = message[i:end], end
        pairs.append((name, value))
    return pairs or None


def parse_logfmt(line: str) -> dict[str, str]:
    """The pairs of a strict logfmt line; ``ValueError`` when it is not one (used by the
    tests that hold every process's output to this format)."""
    fields: dict[str, str] = {}
    i, n = 0, len(line)
    if not line or line != line.strip() or "\n" in line:
        raise ValueError(f"not a single logfmt line: {line!r}")
    while i < n:
        key = _KEY.match(line, i)
        if key is None:
            raise ValueError(f"expected key= at {i}: {line!r}")
        name = key.group()[:-1]
        i = key.end()
        if i < n and line[i] == '"':
            read = _read_quoted(line, i)
            if read is None:
                raise ValueError(f"unterminated quote: {line!r}")
            value, i = read
        else:
            bare = _BARE.match(line, i)
            value = bare.group() if bare else ""
            i = bare.end() if bare else i
        if i < n and line[i] != " ":
            raise ValueError(f"expected a space at {i}: {line!r}")
        if name in fields:
            raise ValueError(f"key {name!r} twice: {line!r}")
        fields[name] = value
        i += 1
    return fields


def _timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


class LineFormatter(logging.Formatter):
    """Formats a record as one logfmt line, or one JSON object with ``fmt="json"``."""

    def __init__(self, fmt: str = "logfmt") -> None:
        super().__init__()
        if fmt not in FORMATS:
            raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        self.json = fmt == "json"

    def fields(self, record: logging.LogRecord) -> Iterator[tuple[str, str]]:
        yield "ts", _timestamp(record.created)
        yield "level", record.levelname.lower()
        yield "logger", record.name
        message = record.getMessage()
        pairs = message_pairs(message)
        if pairs is None:
            yield "msg", message
        else:
            seen = set(HEAD)
            for key, value in pairs:
                name = key
                while name in seen:  # never a second ts, level or logger
                    name = f"_{name}"
                seen.add(name)
                yield name, value
        if record.exc_info:
            yield "exc", self.formatException(record.exc_info)
        if record.stack_info:
            yield "stack", self.formatStack(record.stack_info)

    def format(self, record: logging.LogRecord) -> str:
        fields = self.fields(record)
        if self.json:
            return json.dumps(dict(fields), separators=(",", ":"))
        return " ".join(f"{key}={quote(value)}" for key, value in fields)


def formatter(fmt: str = "logfmt") -> LineFormatter:
    """The factory ``logging.config`` calls (``"()": "ledger.logs.formatter"``)."""
    return LineFormatter(fmt)


def _log_thread_exception(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    error = args.exc_value if args.exc_value is not None else args.exc_type()
    logging.getLogger("ledger").error(
        "event=thread_crashed thread=%s",
        quote(name),
        exc_info=(args.exc_type, error, args.exc_traceback),
    )


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``configure_logging`` installs (so a second call replaces it)."""


def _library_levels() -> None:
    for name, held in LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(held)


def configure_logging(
    level: str = "info", fmt: str = "logfmt", *, stream: TextIO | None = None
) -> None:
    """Configure this process's logging (see the module docstring): one handler on stderr
    (or ``stream``) in our format at ``level``, the library levels, warnings and thread
    exceptions logged. Call once, at start-up.

    Like ``logging.basicConfig``, it leaves a root logger that already has handlers of
    someone else's (a test runner, an application embedding the ledger) as it is, apart
    from holding the libraries at their levels."""
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not {level!r}")
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, _OurHandler)]
    _library_levels()
    if len(ours) != len(root.handlers):
        return
    for handler in ours:
        root.removeHandler(handler)
    handler = _OurHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(LineFormatter(fmt))
    root.addHandler(handler)
    root.setLevel(level.upper())
    install_hooks()


def install_hooks() -> None:
    """Python warnings and exceptions escaping a thread go through logging (one line each)
    instead of being printed raw on stderr. Part of ``configure_logging``; uvicorn's worker
    processes call it from the app factory."""
    logging.captureWarnings(True)
    threading.excepthook = _log_thread_exception


def dict_config(level: str = "info", fmt: str = "logfmt") -> dict[str, Any]:
    """The same configuration for ``logging.config.dictConfig``: what uvicorn applies in
    each of its worker processes (``uvicorn_log_config``). uvicorn's loggers propagate to
    the root handler."""
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not {level!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"()": "ledger.logs.formatter", "fmt": fmt}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "line",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            **{
                name: {"level": logging.getLevelName(held), "handlers": [], "propagate": True}
                for name, held in LIBRARY_LEVELS.items()
            },
            "uvicorn": {"level": level.upper(), "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
        },
    }


def uvicorn_log_config(level: str = "info", fmt: str = "logfmt") -> dict[str, Any]:
    """uvicorn's ``log_config``: ``dict_config``, applied in every worker process."""
    return dict_config(level, fmt)


__all__ = [
    "FORMATS",
    "LEVELS",
    "LIBRARY_LEVELS",
    "LineFormatter",
    "configure_logging",
    "dict_config",
    "formatter",
    "install_hooks",
    "message_pairs",
    "parse_logfmt",
    "quote",
    "uvicorn_log_config",
]
