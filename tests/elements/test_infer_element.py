"""The nvinfer element keeps batches in flight without holding results back or reordering them."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np

from vistream import parse_launch
from vistream.core.bus import MessageType
from vistream.core.element import State
from vistream.meta import get_batch_meta

ROOT = Path(__file__).resolve().parents[2]
PGIE = ROOT / "samples" / "configs" / "config_infer_primary_yoloX.txt"
CLIP = ROOT / "samples" / "videos" / "traffic_overhead_640x360.mp4"


def _frames(n: int) -> list[np.ndarray]:
    with av.open(str(CLIP)) as c:
        return [f.to_ndarray(format="rgb24") for _, f in zip(range(n), c.decode(video=0), strict=False)]


def _pipeline():
    return parse_launch("appsrc name=in caps=video/x-raw,format=RGB,width=640,height=360,framerate=30/1 ! m.sink_0 "
                        "nvstreammux name=m batch-size=1 width=640 height=360 ! "
                        f"nvinfer name=infer config-file-path={PGIE} num-threads=2 ! appsink name=out")


def test_a_lone_frame_comes_out_without_waiting_for_the_next():
    p = _pipeline()
    p.set_state(State.PLAYING)
    assert p["infer"].engine.concurrency == 2  # batches are kept in flight
    frame = _frames(1)[0]
    p["in"].push_buffer(frame)
    sample = p["out"].pull_sample(timeout=10)  # a live source between frames: the element is idle
    assert sample is not None
    assert get_batch_meta(sample.get_buffer()).frame_meta_list[0].obj_meta_list
    p["in"].end_of_stream()
    assert p.bus.timed_pop_filtered(10, MessageType.EOS) is not None
    p.set_state(State.NULL)


def test_frames_leave_in_order_with_their_own_objects_and_before_eos():
    frames = _frames(24)
    p = _pipeline()
    got = []
    p.set_state(State.PLAYING)

    def feed():
        for f in frames:
            p["in"].push_buffer(f)
        p["in"].end_of_stream()

    threading.Thread(target=feed).start()
    assert p.bus.timed_pop_filtered(60, MessageType.EOS) is not None
    while (s := p["out"].pull_sample(timeout=0)) is not None:
        got.append(s.get_buffer())
    p.set_state(State.NULL)
    assert [b.batch_meta.frame_meta_list[0].frame_num for b in got] == list(range(24))
    # the objects attached to each frame are the ones found in that frame's pixels
    from vistream.infer import InferEngine
    ref = InferEngine(PGIE, threads=1, overlap=False)
    for i in (0, 11, 23):
        want = ref.infer_arrays([frames[i]])[0]
        fm = got[i].batch_meta.frame_meta_list[0]
        assert len(fm.obj_meta_list) == len(want) > 0
        assert np.array_equal(np.asarray(got[i].data[0]), frames[i])


def test_skipped_frames_keep_their_place_between_inferred_ones():
    frames = _frames(12)
    p = parse_launch("appsrc name=in caps=video/x-raw,format=RGB,width=640,height=360,framerate=30/1 ! m.sink_0 "
                     "nvstreammux name=m batch-size=1 width=640 height=360 ! "
                     f"nvinfer name=infer config-file-path={PGIE} num-threads=2 interval=2 ! appsink name=out")
    p.set_state(State.PLAYING)
    for f in frames:
        p["in"].push_buffer(f)
    p["in"].end_of_stream()
    assert p.bus.timed_pop_filtered(60, MessageType.EOS) is not None
    got = []
    while (s := p["out"].pull_sample(timeout=0)) is not None:
        got.append(s.get_buffer().batch_meta.frame_meta_list[0])
    p.set_state(State.NULL)
    assert [fm.frame_num for fm in got] == list(range(12))
    assert [i for i, fm in enumerate(got) if fm.obj_meta_list] == [0, 3, 6, 9]  # one frame in three inferred
    assert p["infer"].frames_inferred == 4
