"""The User aggregate: an external id from the host application and a role.

States: registered (unverified) -> verified. No personal data beyond the external id and the
role enters an event. Ids are deterministic (``ids.user_id``), so registering twice collides.
"""

from enum import StrEnum
from typing import Any

from ledger.domain.base import LedgerAggregate, Stamp
from ledger.domain.ids import check_external_id, user_id
from ledger.errors import DomainError, InvalidInput


class Role(StrEnum):
    FAN = "fan"
    CELEBRITY = "celebrity"


def check_role(role: object) -> Role:
    try:
        return Role(str(role))
    except ValueError:
        raise InvalidInput(f"invalid role {role!r}: expected fan or celebrity") from None


class User(LedgerAggregate):
    external_id: str
    role: Role
    verified: bool

    class UserRegistered(LedgerAggregate.Created):
        external_id: str
        role: str

        def apply(self, aggregate: Any) -> None:
            aggregate.external_id = self.external_id
            aggregate.role = Role(self.role)
            aggregate.verified = False

    class UserVerified(LedgerAggregate.Event):
        def apply(self, aggregate: Any) -> None:
            aggregate.verified = True

    def __init__(self) -> None:  # state is set by UserRegistered.apply
        pass

    @classmethod
    def register(cls, external_id: str, role: Role | str, at: Stamp) -> "User":
        """Register ``external_id`` with ``role``; the id is derived from the external id."""
        check_external_id(external_id)
        role = check_role(role)
        return cls._create(
            cls.UserRegistered,
            id=user_id(external_id),
            timestamp=at.business,
            recorded_at=at.recorded,
            external_id=external_id,
            role=role.value,
        )

    def check_same_registration(self, role: Role | str) -> None:
        """Registering again with the same role is a no-op; another role is refused."""
        if check_role(role) is not self.role:
            raise DomainError(f"user {self.external_id} is already registered as {self.role.value}")

    def require_role(self, role: Role) -> None:
        """Refuse (``DomainError``) unless this user has ``role``: a request goes from a fan
        to a celebrity, never otherwise."""
        if self.role is not role:
            raise DomainError(f"user {self.external_id} is a {self.role.value}, not a {role.value}")

    def verify(self, at: Stamp) -> bool:
        """Mark the user verified. Returns False (no event) if already verified."""
        if self.verified:
            return False
        self._trigger(self.UserVerified, at)
        return True


__all__ = ["Role", "User", "check_role"]
