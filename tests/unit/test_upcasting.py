"""Upcasting through the real eventsourcing mapper (JSON transcoder), no database.

``Request.RequestDeclined`` is at class_version 3: version 2 added ``note``, version 3
``operator``. A version-1 event stored before that (no ``class_version`` key, no ``note``) and
a version-2 one (no ``operator``) must still load, with the missing fields None, and replaying
them must decline the request.
"""

import json
import uuid

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)

from ledger.domain import ids
from ledger.domain.reference import PaymentReference
from ledger.domain.request import DeclineReason, Request, RequestStatus
from tests.unit.helpers import (
    AT,
    LATER,
    REQUEST_ID,
    given,
    live_txn,
    request_history,
    user_history,
    wallet_history,
)

DECLINED_TOPIC = "ledger.domain.request:Request.RequestDeclined"


@pytest.fixture
def mapper() -> Mapper[uuid.UUID]:
    transcoder = JSONTranscoder()
    transcoder.register(UUIDAsHex())
    transcoder.register(DatetimeAsISO())
    return Mapper(transcoder=transcoder)


def _v1_state() -> bytes:
    """RequestDeclined as version 1 stored it: no class_version, no note."""
    return json.dumps(
        {
            "timestamp": {"_type_": "datetime_iso", "_data_": AT.business.isoformat()},
            "recorded_at": {"_type_": "datetime_iso", "_data_": AT.recorded.isoformat()},
            "reason": "payment_timed_out",
        }
    ).encode()


def test_request_declined_is_at_class_version_3() -> None:
    assert Request.RequestDeclined.class_version == 3
    assert Request.RequestCreated.class_version == 1


def test_a_v1_request_declined_is_upcast_with_note_none(mapper: Mapper[uuid.UUID]) -> None:
    stored = StoredEvent(
        originator_id=REQUEST_ID, originator_version=2, topic=DECLINED_TOPIC, state=_v1_state()
    )

    event = mapper.to_domain_event(stored)

    assert isinstance(event, Request.RequestDeclined)
    assert event.note is None
    assert event.operator is None
    assert event.reason == "payment_timed_out"
    assert (event.originator_id, event.originator_version) == (REQUEST_ID, 2)
    assert event.timestamp == AT.business
    assert event.recorded_at == AT.recorded
    assert "class_version" not in vars(event)


def test_a_request_with_a_v1_decline_in_its_history_replays_to_declined(
    mapper: Mapper[uuid.UUID],
) -> None:
    [created] = request_history("PENDING")
    stored_created = mapper.to_stored_event(created)
    stored_v1 = StoredEvent(
        originator_id=REQUEST_ID, originator_version=2, topic=DECLINED_TOPIC, state=_v1_state()
    )

    request_agg = given([mapper.to_domain_event(s) for s in (stored_created, stored_v1)])

    assert request_agg.status is RequestStatus.DECLINED
    assert request_agg.decline_reason is DeclineReason.PAYMENT_TIMED_OUT
    assert request_agg.note is None
    assert request_agg.version == 2


def test_a_v2_request_declined_is_upcast_with_operator_none(mapper: Mapper[uuid.UUID]) -> None:
    state = json.loads(_v1_state())
    state.update({"class_version": 2, "reason": "celebrity_declined", "note": "on holiday"})
    stored = StoredEvent(
        originator_id=REQUEST_ID,
        originator_version=2,
        topic=DECLINED_TOPIC,
        state=json.dumps(state).encode(),
    )

    event = mapper.to_domain_event(stored)

    assert isinstance(event, Request.RequestDeclined)
    assert (event.reason, event.note, event.operator) == ("celebrity_declined", "on holiday", None)


@pytest.mark.parametrize(
    ("note", "operator"), [(None, None), ("celebrity is on holiday", "ops-ada")]
)
def test_a_v3_request_declined_round_trips_with_its_class_version_stored(
    mapper: Mapper[uuid.UUID], note: str | None, operator: str | None
) -> None:
    live = given(request_history("PENDING"))
    live.decline("operator_declined", LATER, note=note, operator=operator)
    [declined] = live.collect_events()

    stored = mapper.to_stored_event(declined)

    assert json.loads(stored.state)["class_version"] == 3
    assert json.loads(stored.state)["note"] == note
    assert json.loads(stored.state)["operator"] == operator
    assert stored.topic == DECLINED_TOPIC
    assert mapper.to_domain_event(stored) == declined


def test_version_1_events_are_stored_without_a_class_version(mapper: Mapper[uuid.UUID]) -> None:
    [created] = request_history("PENDING")
    assert "class_version" not in json.loads(mapper.to_stored_event(created).state)


def _all_histories() -> list[list[object]]:
    txn_states = [
        "recorded_failed",
        "released",
        "refund_confirmed",
        "flagged_refunded",
        "flagged_resolved",
        "flagged_late",
        "timed_out",
    ]
    return [
        user_history(verified=True),
        wallet_history(balance=10),
        request_history("COMPLETED"),
        request_history("DECLINED"),
        *[live_txn(state).collect_events() for state in txn_states],
    ]


@pytest.mark.parametrize("history", _all_histories())
def test_every_domain_event_round_trips_through_the_json_mapper(
    mapper: Mapper[uuid.UUID], history: list[object]
) -> None:
    """Nothing in an event needs a transcoding the application does not register."""
    restored = [mapper.to_domain_event(mapper.to_stored_event(e)) for e in history]  # type: ignore[arg-type]
    assert restored == history
    assert vars(given(restored)) == vars(given(history))


def test_a_payment_reference_round_trips(mapper: Mapper[uuid.UUID]) -> None:
    claim = PaymentReference.claim("ref-1", ids.transaction_id(REQUEST_ID), AT)
    [event] = claim.collect_events()
    assert mapper.to_domain_event(mapper.to_stored_event(event)) == event


@pytest.mark.parametrize("history", _all_histories())
def test_every_event_carries_the_business_time_and_the_recording_time(
    history: list[object],
) -> None:
    for event in history:
        assert event.timestamp == AT.business  # type: ignore[attr-defined]
        assert event.recorded_at == AT.recorded  # type: ignore[attr-defined]
