"""deepstream-test4-style use on real data: entry/exit events of the MOT15 TUD-Campus ground-truth tracks
go through nvmsgconv and a real broker; new-API messages summarise the tracked objects every N frames."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pytest

from tests.msg.collectors import COLLECTORS
from vistream.meta import BatchMeta, make_object, new_frame_meta
from vistream.meta.event import EventMsgMeta, EventRect, EventType, ObjectType, PersonObject, attach_event_msg
from vistream.msg import MsgBroker, MsgConverter, validate

ROOT = Path(__file__).resolve().parents[2]
GT = np.loadtxt(ROOT / "tests/data/mot/TUD-Campus/gt.txt", delimiter=",")  # frame, id, left, top, w, h, ...
CONFIG = ROOT / "samples/configs/msgconv/msgconv_config.txt"


def gt_batches():
    """One batch per frame (1..71) with the ground-truth people as tracked objects."""
    for f in range(1, int(GT[:, 0].max()) + 1):
        frame = new_frame_meta(0, f, f * 40_000_000, 640, 480)
        for _, tid, left, top, w, h, *_ in GT[GT[:, 0] == f]:
            obj = make_object(left, top, w, h, class_id=0, confidence=1.0, label="person")
            obj.object_id = int(tid)
            frame.add_obj_meta(obj)
        yield BatchMeta(frame_meta_list=[frame])


def entry_exit_probe(batch: BatchMeta, first: dict[int, int], last: dict[int, int]) -> None:
    """Attach an ENTRY event on a track's first frame and an EXIT event on its last (as a test4 probe)."""
    for frame, obj in batch.objects():
        tid = obj.object_id
        for etype, when in ((EventType.ENTRY, first), (EventType.EXIT, last)):
            if when[tid] == frame.frame_num:
                r = obj.rect_params
                attach_event_msg(frame, EventMsgMeta(
                    type=etype, objType=ObjectType.PERSON, trackingId=tid, confidence=obj.confidence,
                    bbox=EventRect(top=r.top, left=r.left, width=r.width, height=r.height),
                    extMsg=PersonObject(apparel="casual")))


@pytest.mark.server
@pytest.mark.parametrize("protocol", ["redis"])
def test_entry_exit_events_of_mot_tracks_through_a_broker(protocol, server, tmp_path):
    ids = GT[:, 1].astype(int)
    first = {t: int(GT[ids == t, 0].min()) for t in np.unique(ids)}
    last = {t: int(GT[ids == t, 0].max()) for t in np.unique(ids)}
    topic = f"mot-{uuid.uuid4().hex[:6]}"
    collector = COLLECTORS[protocol](server.port, topic).start()
    conv = MsgConverter(config=CONFIG)
    broker = MsgBroker(protocol, f"127.0.0.1;{server.port}", topic=topic, spool_path=tmp_path / "s.db")
    try:
        for batch in gt_batches():
            entry_exit_probe(batch, first, last)
            conv.process(batch)
            broker.process(batch)
        assert broker.flush(10)
        assert collector.wait_for(lambda c: c.count() >= 16, 10)
    finally:
        broker.close()
        collector.close()
    msgs = [json.loads(p) for p in collector.payloads]
    assert len(msgs) == 16  # 8 ground-truth tracks, one entry and one exit each
    for m in msgs:
        validate(m)
        tid, kind = int(m["object"]["id"]), m["event"]["type"]
        f = first[tid] if kind == "entry" else last[tid]
        (row,) = GT[(GT[:, 0] == f) & (ids == tid)]
        left, top, w, h = row[2:6]
        assert m["object"]["bbox"] == {"topleftx": int(left), "toplefty": int(top),
                                       "bottomrightx": int(left + w), "bottomrighty": int(top + h)}
        assert m["place"]["entrance"]["name"] == "C_127_158"  # person entry/exit -> entrance sub-object
        assert m["object"]["person"]["apparel"] == "casual"
    assert sorted((int(m["object"]["id"]), m["event"]["type"]) for m in msgs) == sorted(
        [(t, "entry") for t in first] + [(t, "exit") for t in last])


def test_new_api_minimal_messages_every_10_frames():
    conv = MsgConverter(config=CONFIG, msg2p_newapi=True, payload_type=1, frame_interval=10)
    out = [p for batch in gt_batches() for p in conv.process(batch)]
    assert [p.frame_num for p in out] == [1, 11, 21, 31, 41, 51, 61, 71]
    for p in out:
        m = p.json()
        validate(m, "minimal")
        rows = GT[GT[:, 0] == p.frame_num]
        assert len(m["objects"]) == len(rows)
        got = sorted(tuple(float(x) for x in s.split("|")[:5]) for s in m["objects"])
        want = sorted((r[1], r[2], r[3], r[2] + r[4], r[3] + r[5]) for r in rows)
        # the minimal schema prints 6 significant digits, as C++ streams do
        np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-5)
