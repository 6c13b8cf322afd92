"""Free text the commands take from people (a note, an operator, a reason): one line of at
most 1000 characters, trimmed. What an operator writes is kept in the audit trail as given.
"""

from ledger.errors import InvalidInput

MAX_TEXT = 1000


def check_text(value: str | None, what: str) -> str | None:
    """``value`` trimmed, or None when absent or blank; ``InvalidInput`` when too long."""
    if value is None or not value.strip():
        return None
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{what} is too long (at most {MAX_TEXT} characters)")
    return value.strip()


def required_text(value: str | None, what: str) -> str:
    """``check_text``, and ``InvalidInput`` when absent or blank."""
    checked = check_text(value, what)
    if checked is None:
        raise InvalidInput(f"{what} is required")
    return checked


def check_operator(operator: str | None) -> str:
    """Who acts in an admin command (required)."""
    return required_text(operator, "operator")


def check_reason(reason: str | None) -> str:
    """Why an admin command was run (required; kept in the audit trail)."""
    return required_text(reason, "--reason")


__all__ = ["MAX_TEXT", "check_operator", "check_reason", "check_text", "required_text"]
