"""STATE echo rules: order, only after the records before it, raw JSON kept, counts per span."""

from __future__ import annotations

from destination_stripe.core.checkpoints import StateTracker


def _state(state_id: int, stream: str | None = None) -> dict:
    if stream is None:
        return {"type": "STATE", "id": state_id, "state": {"type": "GLOBAL", "global": {"cursor": state_id}},
                "sourceStats": {"recordCount": 2.0}}
    return {"type": "STATE", "id": state_id, "state": {"type": "STREAM", "stream": {
        "stream_descriptor": {"name": stream}, "stream_state": {"c": state_id}}}}


def _key(name: str) -> str:
    return f"\x00{name}"


def test_a_state_waits_for_every_record_before_it_even_when_they_finish_out_of_order():
    out: list[dict] = []
    tracker = StateTracker(out.append)
    tracker.record_started(0, _key("s"))
    tracker.record_started(1, _key("s"))
    tracker.state_received(_state(7), records_before=2)
    tracker.record_done(1, accepted=True)
    assert out == []
    tracker.record_done(0, accepted=False)
    assert [m["id"] for m in out] == [7]
    assert out[0]["state"]["destinationStats"] == {"recordCount": 1.0, "rejectedRecordCount": 1.0}


def test_states_are_echoed_in_order_with_their_id_and_every_key_kept():
    out: list[dict] = []
    tracker = StateTracker(out.append)
    tracker.record_started(0, _key("s"))
    tracker.state_received(_state(1), records_before=1)
    tracker.record_started(1, _key("s"))
    tracker.state_received(_state(2), records_before=2)
    tracker.record_done(1, accepted=True)
    assert out == []
    tracker.record_done(0, accepted=True)
    assert [m["id"] for m in out] == [1, 2]
    assert out[0]["sourceStats"] == {"recordCount": 2.0}
    assert out[0]["state"]["global"] == {"cursor": 1}


def test_a_state_with_no_records_before_it_is_echoed_at_once_with_zero_counts():
    out: list[dict] = []
    StateTracker(out.append).state_received(_state(3), records_before=0)
    assert out[0]["state"]["destinationStats"] == {"recordCount": 0.0, "rejectedRecordCount": 0.0}


def test_stream_states_count_only_their_own_stream():
    out: list[dict] = []
    tracker = StateTracker(out.append)
    for seq, stream in enumerate(["a", "b", "a"]):
        tracker.record_started(seq, _key(stream))
        tracker.record_done(seq, accepted=True)
    tracker.state_received(_state(1, "a"), records_before=3)
    tracker.state_received(_state(2, "b"), records_before=3)
    counts = [m["state"]["destinationStats"]["recordCount"] for m in out]
    assert counts == [2.0, 1.0]


def test_a_record_counts_in_its_stream_span_and_in_the_global_span_open_when_it_started():
    out: list[dict] = []
    tracker = StateTracker(out.append)
    tracker.record_started(0, _key("a"))
    tracker.record_started(1, None)  # an orphan: counted by the next STATE, whatever its stream
    tracker.state_received(_state(1, "b"), records_before=2)  # b's span (empty) and the orphan
    tracker.record_started(2, _key("a"))
    tracker.state_received(_state(2), records_before=3)  # GLOBAL: every record since the previous GLOBAL
    tracker.record_started(3, _key("a"))
    tracker.state_received(_state(3, "a"), records_before=4)  # a's span opened after the GLOBAL: record 3 only
    for seq, accepted in [(3, True), (2, False), (1, False), (0, True)]:
        tracker.record_done(seq, accepted=accepted)
    stats = [(m["id"], m["state"]["destinationStats"]) for m in out]
    assert stats == [(1, {"recordCount": 0.0, "rejectedRecordCount": 1.0}),
                     (2, {"recordCount": 1.0, "rejectedRecordCount": 2.0}),
                     (3, {"recordCount": 1.0, "rejectedRecordCount": 0.0})]


def test_records_finished_out_of_order_release_each_state_once_everything_before_it_is_done():
    """Records of two streams and orphans between STREAM and GLOBAL states, finished in three waves."""
    out: list[dict] = []
    tracker = StateTracker(out.append)
    streams = [_key("a"), _key("b"), None, _key("a"), _key("b"), _key("a"), None, _key("b")]
    for seq, stream in enumerate(streams):
        tracker.record_started(seq, stream)
        if seq == 2:
            tracker.state_received(_state(1, "a"), records_before=3)
        if seq == 5:
            tracker.state_received(_state(2), records_before=6)
    tracker.state_received(_state(3, "b"), records_before=len(streams))
    released_after = []
    for wave, accepted in zip([[5, 1, 6], [0, 2], [7, 3, 4]], [True, False, True], strict=True):
        for seq in wave:
            tracker.record_done(seq, accepted=accepted)
        released_after.append(len(out))
    assert [m["id"] for m in out] == [1, 2, 3]
    assert released_after == [0, 1, 3]  # a STATE leaves as soon as every record before it is done
    assert [m["state"]["destinationStats"] for m in out] == [
        {"recordCount": 0.0, "rejectedRecordCount": 2.0},  # a's record 0 and orphan 2, both rejected
        {"recordCount": 4.0, "rejectedRecordCount": 2.0},  # GLOBAL: records 0 to 5
        {"recordCount": 2.0, "rejectedRecordCount": 0.0},  # b since the GLOBAL (7) and orphan 6
    ]
