"""Contacts over HTTP: where a user's notifications go, as ``ledger users contact`` does.

    PUT    /users/{user_id}/contact   set (replaces email and webhook_url)
    GET    /users/{user_id}/contact   show (404 when none)
    DELETE /users/{user_id}/contact   erase (personal data: nothing else keeps it)

Contacts live in the mutable ``contacts`` table, never in the event log (``ledger.contacts``).
The user must be registered. Every route needs a bearer token.
"""

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ledger.api.commands import UserId, _result
from ledger.api.deps import Svc, require_token
from ledger.api.errors import COMMAND_ERRORS, QUERY_ERRORS
from ledger.api.models import CommandResult, _In
from ledger.application import Result
from ledger.contacts import Contact
from ledger.errors import NotFound

router = APIRouter(dependencies=[Depends(require_token)])


class SetContact(_In):
    email: str | None = Field(None, max_length=254, description="Email address, or null.")
    webhook_url: str | None = Field(
        None, max_length=2000, description="The user's own webhook URL (instead of the platform's)."
    )


class ContactView(BaseModel):
    user_id: str
    email: str | None
    webhook_url: str | None
    updated_at: str


def _view(contact: Contact) -> dict[str, Any]:
    return {
        "user_id": contact.external_id,
        "email": contact.email,
        "webhook_url": contact.webhook_url,
        "updated_at": contact.updated_at.isoformat(),
    }


@router.put(
    "/users/{user_id}/contact",
    tags=["users"],
    response_model=ContactView,
    responses=COMMAND_ERRORS,
    summary="Set where a user's notifications go (replaces the contact)",
)
def set_contact(user_id: UserId, body: SetContact, svc: Svc) -> dict[str, Any]:
    ledger = svc.ledger
    user = ledger.get_user(user_id)
    saved = svc.components.contacts().set(
        user.id, user_id, email=body.email, webhook_url=body.webhook_url, at=ledger.wall_clock()
    )
    return _view(saved)


@router.get(
    "/users/{user_id}/contact",
    tags=["users"],
    response_model=ContactView,
    responses=QUERY_ERRORS,
    summary="A user's contact",
)
def show_contact(user_id: UserId, svc: Svc) -> dict[str, Any]:
    user = svc.ledger.get_user(user_id)
    found = svc.components.contacts().get(user.id)
    if found is None:
        raise NotFound(f"{user_id} has no contact on file")
    return _view(found)


@router.delete(
    "/users/{user_id}/contact",
    tags=["users"],
    response_model=CommandResult,
    responses=COMMAND_ERRORS,
    summary="Erase a user's contact (history is untouched)",
)
def erase_contact(user_id: UserId, svc: Svc) -> CommandResult:
    user = svc.ledger.get_user(user_id)
    erased = svc.components.contacts().erase(user.id)
    message = f"contact of {user_id} erased" if erased else f"{user_id} has no contact"
    return _result(Result(erased, message, user.id))


__all__ = ["router"]
