"""User: register (deterministic id, role), verify once, re-registration rules."""

from datetime import datetime

import pytest

from ledger.domain import ids
from ledger.domain.base import Stamp
from ledger.domain.user import Role, User
from ledger.errors import InvalidInput
from tests.unit.helpers import AT, LATER, T0, assert_refused, given, new_events, user_history


def test_register_records_external_id_and_role_under_a_deterministic_id() -> None:
    user = User.register("fan-1", "fan", AT)

    [event] = new_events(user)
    assert isinstance(event, User.UserRegistered)
    assert event.originator_id == ids.user_id("fan-1") == user.id
    assert (event.external_id, event.role) == ("fan-1", "fan")
    assert event.timestamp == AT.business
    assert event.recorded_at == AT.recorded
    assert user.role is Role.FAN
    assert user.verified is False


def test_registered_event_carries_no_personal_data_beyond_id_and_role() -> None:
    [event] = new_events(User.register("celebrity-9", Role.CELEBRITY, AT))
    fields = set(vars(event)) - {"originator_id", "originator_version", "originator_topic"}
    assert fields == {"timestamp", "recorded_at", "external_id", "role"}


@pytest.mark.parametrize("role", ["admin", "", "FAN ", None])
def test_register_with_an_unknown_role_is_refused(role: object) -> None:
    with pytest.raises(InvalidInput, match="role"):
        User.register("fan-1", role, AT)  # type: ignore[arg-type]


@pytest.mark.parametrize("external_id", ["", " fan", "fan 1", "-fan", "x" * 129, 42])
def test_register_with_a_malformed_external_id_is_refused(external_id: object) -> None:
    with pytest.raises(InvalidInput, match="user id"):
        User.register(external_id, "fan", AT)  # type: ignore[arg-type]


def test_a_command_time_without_a_timezone_is_refused() -> None:
    with pytest.raises(InvalidInput, match="timezone-aware"):
        Stamp(business=datetime(2026, 1, 1), recorded=T0)


def test_verify_an_unverified_user_records_user_verified() -> None:
    user = given(user_history())

    assert user.verify(LATER) is True

    [event] = new_events(user)
    assert isinstance(event, User.UserVerified)
    assert event.timestamp == LATER.business
    assert user.verified is True


def test_verifying_a_verified_user_again_returns_false_and_records_nothing() -> None:
    user = given(user_history(verified=True))

    assert user.verify(LATER) is False
    assert new_events(user) == []


def test_registering_again_with_the_same_role_is_a_no_op() -> None:
    user = given(user_history(role="celebrity"))

    user.check_same_registration("celebrity")
    user.check_same_registration(Role.CELEBRITY)
    assert new_events(user) == []


def test_registering_again_with_another_role_is_refused() -> None:
    user = given(user_history(role="fan"))

    assert_refused(lambda: user.check_same_registration("celebrity"), user, match="already")


def test_registering_again_with_an_unknown_role_is_invalid_input() -> None:
    user = given(user_history(role="fan"))

    assert_refused(lambda: user.check_same_registration("boss"), user, error=InvalidInput)


def test_replayed_user_equals_live_user() -> None:
    live = User.register("fan-1", "fan", AT)
    live.verify(LATER)
    replayed = given(live.collect_events())
    assert (replayed.id, replayed.version, replayed.role, replayed.verified) == (
        live.id,
        live.version,
        live.role,
        live.verified,
    )


def test_a_user_with_the_role_asked_for_passes() -> None:
    given(user_history(role="celebrity")).require_role(Role.CELEBRITY)


@pytest.mark.parametrize(("role", "wanted"), [("fan", Role.CELEBRITY), ("celebrity", Role.FAN)])
def test_a_user_with_another_role_is_refused(role: str, wanted: Role) -> None:
    user = given(user_history(role=role))
    assert_refused(
        lambda: user.require_role(wanted),
        user,
        match=f"user fan-1 is a {role}, not a {wanted.value}",
    )
