"""Users of the host application: register (optionally verified at once), verify.

Registering is idempotent: the user's id derives from the external id, so a repeat finds the
same aggregate ("already registered"); another role for the same user is refused.
"""

from ledger.app.result import Decision, Result
from ledger.app.unit_of_work import UnitOfWork
from ledger.domain import ids
from ledger.domain.user import Role, User, check_role


class UserCommands(UnitOfWork):
    def register_user(
        self, external_id: str, role: Role | str, *, verified: bool = False
    ) -> Result:
        """Register a user of the host application (``--verified`` verifies at once)."""
        ids.check_external_id(external_id)
        role = check_role(role)
        uid = ids.user_id(external_id)

        def new() -> Decision:
            user = User.register(external_id, role, self.now())
            if verified:
                user.verify(self.now())
            return [user], Result(True, f"registered {role.value} {external_id}", uid)

        def existing(fresh: bool) -> Decision:
            user = self._get(User, uid, fresh=fresh)
            user.check_same_registration(role)
            if verified and user.verify(self.now()):
                return [user], Result(True, f"verified user {external_id}", uid)
            return [], Result(False, f"user {external_id} is already registered", uid)

        return self._create_once(new, existing, uid)

    def verify_user(self, external_id: str) -> Result:
        uid = ids.user_id(external_id)

        def decide(fresh: bool) -> Decision:
            user = self._get(User, uid, fresh=fresh)
            if not user.verify(self.now()):
                return [], Result(False, f"user {external_id} is already verified", uid)
            return [user], Result(True, f"verified user {external_id}", uid)

        return self._run(decide)


__all__ = ["UserCommands"]
