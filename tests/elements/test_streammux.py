"""nvstreammux: batching, scaling, metadata, partial batches on timeout and at EOS, per-source EOS."""

from __future__ import annotations

import threading
import time

import av
import numpy as np
import pytest

from vistream import MessageType, PadProbeReturn, PadProbeType, State, parse_launch


def _batches(pipeline, name="out"):
    out = []
    while (s := pipeline[name].pull_sample(timeout=0)) is not None:
        out.append(s.get_buffer())
    return out


def _two_sources(a, b, extra=""):
    return (f"filesrc location={a} ! qtdemux ! nvv4l2decoder ! m.sink_0 "
            f"filesrc location={b} ! qtdemux ! nvv4l2decoder ! m.sink_1 "
            f"nvstreammux name=m {extra} ! appsink name=out")


def test_batches_take_one_frame_per_source_and_scale(traffic_clip, people_clip):
    p = parse_launch(_two_sources(traffic_clip, people_clip, "batch-size=2 width=320 height=240"))
    p.run(timeout=60)
    batches = _batches(p)
    assert len(batches) == 48
    for i, buf in enumerate(batches):
        assert buf.data.shape == (2, 240, 320, 3)
        fms = buf.batch_meta.frame_meta_list
        assert [(f.source_id, f.batch_id, f.frame_num) for f in fms] == [(0, 0, i), (1, 1, i)]
    f0, f1 = batches[0].batch_meta.frame_meta_list
    assert (f0.source_frame_width, f0.source_frame_height) == (640, 360)
    assert (f1.source_frame_width, f1.source_frame_height) == (800, 450)
    assert (f0.pipeline_width, f0.pipeline_height) == (320, 240)
    assert batches[0].batch_meta.max_frames_in_batch == 2
    assert f0.ntp_timestamp > 1_600_000_000 * 10**9  # system time attached as NTP timestamp


def test_single_source_fills_whole_batches_and_flushes_a_partial_one_at_eos(traffic_clip):
    p = parse_launch(f"filesrc location={traffic_clip} ! qtdemux ! nvv4l2decoder ! m.sink_0 "
                     "nvstreammux name=m batch-size=5 ! appsink name=out")
    p.run(timeout=60)
    batches = _batches(p)
    assert [len(b.batch_meta.frame_meta_list) for b in batches] == [5] * 9 + [3]
    assert batches[0].data.shape == (5, 360, 640, 3)


def test_frame_numbers_are_exact_and_ordered(traffic_clip):
    p = parse_launch(f"filesrc location={traffic_clip} ! qtdemux ! nvv4l2decoder ! m.sink_0 "
                     "nvstreammux name=m batch-size=4 ! appsink name=out")
    p.run(timeout=60)
    fms = [f for b in _batches(p) for f in b.batch_meta.frame_meta_list]
    assert [f.frame_num for f in fms] == list(range(48))
    assert [f.buf_pts for f in fms] == sorted(f.buf_pts for f in fms)


def test_one_source_ending_early_leaves_the_other_running(traffic_clip, traffic_full):
    p = parse_launch(_two_sources(traffic_clip, traffic_full, "batch-size=2 width=160 height=90"))
    eos_msgs = []
    p.bus.add_watch(lambda bus, msg: eos_msgs.append(msg.structure["source_id"])
                    if msg.type == MessageType.ELEMENT and msg.has_name("stream-eos") else None)
    p.run(timeout=120)
    batches = _batches(p)
    per_source = [f.source_id for b in batches for f in b.batch_meta.frame_meta_list]
    assert per_source.count(0) == 48 and per_source.count(1) == 480
    assert [len(b.batch_meta.frame_meta_list) for b in batches[48:]] == [1] * 432  # partial batches
    assert eos_msgs == [0, 1]


def test_padding_keeps_aspect_ratio(traffic_clip):
    p = parse_launch(f"filesrc location={traffic_clip} ! qtdemux ! nvv4l2decoder ! m.sink_0 "
                     "nvstreammux name=m batch-size=1 width=640 height=640 enable-padding=1 ! appsink name=out")
    p.run(timeout=60)
    frame = _batches(p)[5].data[0]
    assert frame.shape == (640, 640, 3)
    assert frame[400:].max() == 0          # black band below the 640x360 picture
    assert frame[:360].mean() > 20


def test_timeout_pushes_partial_batch_from_a_slow_source():
    p = parse_launch("appsrc name=a caps=video/x-raw,format=RGB ! m.sink_0 "
                     "appsrc name=b caps=video/x-raw,format=RGB ! m.sink_1 "
                     "nvstreammux name=m batch-size=2 batched-push-timeout=50000 ! appsink name=out")
    p.set_state(State.PLAYING)
    p["a"].push_buffer(np.zeros((4, 4, 3), np.uint8))
    t0 = time.monotonic()
    s = p["out"].pull_sample(timeout=5)
    waited = time.monotonic() - t0
    assert s is not None and len(s.get_buffer().batch_meta.frame_meta_list) == 1
    assert 0.03 <= waited < 2.0
    p["a"].end_of_stream()
    p["b"].end_of_stream()
    assert p.bus.timed_pop_filtered(5, MessageType.EOS) is not None
    p.set_state(State.NULL)


def test_without_timeout_the_muxer_waits_for_every_source():
    p = parse_launch("appsrc name=a caps=video/x-raw,format=RGB ! m.sink_0 "
                     "appsrc name=b caps=video/x-raw,format=RGB ! m.sink_1 "
                     "nvstreammux name=m batch-size=2 ! appsink name=out")
    p.set_state(State.PLAYING)
    p["a"].push_buffer(np.zeros((4, 4, 3), np.uint8))
    assert p["out"].pull_sample(timeout=0.3) is None
    p["b"].push_buffer(np.ones((4, 4, 3), np.uint8))
    s = p["out"].pull_sample(timeout=5)
    assert [f.source_id for f in s.get_buffer().batch_meta.frame_meta_list] == [0, 1]
    for name in "ab":
        p[name].end_of_stream()
    assert p.bus.timed_pop_filtered(5, MessageType.EOS) is not None
    p.set_state(State.NULL)


def test_back_pressure_bounds_the_frames_held_per_source(traffic_full):
    p = parse_launch(f"filesrc location={traffic_full} ! qtdemux ! nvv4l2decoder ! m.sink_0 "
                     "nvstreammux name=m batch-size=2 ! appsink name=out max-buffers=1")
    mux = p["m"]
    p.set_state(State.PLAYING)
    peak = 0
    for _ in range(20):
        time.sleep(0.02)
        peak = max(peak, max((len(s.frames) for s in mux._sources.values()), default=0))
    p.set_state(State.NULL)
    assert peak <= 4


def test_live_source_drops_and_counts_instead_of_piling_up():
    p = parse_launch("appsrc name=a caps=video/x-raw,format=RGB ! nvstreammux name=m batch-size=1 live-source=1 "
                     "! appsink name=out max-buffers=1")
    p.set_state(State.PLAYING)
    stop = threading.Event()

    def flood():
        i = 0
        while not stop.is_set() and i < 400:
            p["a"].push_buffer(np.zeros((2, 2, 3), np.uint8))
            i += 1

    t = threading.Thread(target=flood)
    t.start()
    time.sleep(0.5)
    stop.set()
    t.join()
    stats = p["m"].source_stats()[0]
    p.set_state(State.NULL)
    assert stats["dropped"] > 0
    assert stats["frames"] + stats["dropped"] <= 400


@pytest.mark.parametrize("n", [1, 3])
def test_request_pads_and_source_ids(n, traffic_clip):
    srcs = " ".join(f"filesrc location={traffic_clip} ! qtdemux ! nvv4l2decoder ! m.sink_{i * 2}" for i in range(n))
    p = parse_launch(f"{srcs} nvstreammux name=m batch-size={n} width=64 height=64 ! appsink name=out")
    p.run(timeout=60)
    ids = sorted({f.source_id for b in _batches(p) for f in b.batch_meta.frame_meta_list})
    assert ids == [i * 2 for i in range(n)]


def test_streamdemux_splits_batches_per_source(traffic_clip, people_clip):
    p = parse_launch(f"filesrc location={traffic_clip} ! qtdemux ! nvv4l2decoder ! m.sink_0 "
                     f"filesrc location={people_clip} ! qtdemux ! nvv4l2decoder ! m.sink_1 "
                     "nvstreammux name=m batch-size=2 width=320 height=240 ! nvstreamdemux name=d "
                     "d.src_0 ! appsink name=s0 d.src_1 ! appsink name=s1")
    p.run(timeout=60)
    for sid in (0, 1):
        bufs = _batches(p, f"s{sid}")
        assert len(bufs) == 48
        fm = bufs[7].batch_meta.frame_meta_list[0]
        assert (fm.source_id, fm.frame_num, fm.batch_id) == (sid, 7, 0)
        assert bufs[7].data.shape == (1, 240, 320, 3)


def test_released_source_leaves_the_batch_and_its_share(traffic_clip):
    p = parse_launch("appsrc name=a caps=video/x-raw,format=RGB ! m.sink_0 "
                     "appsrc name=b caps=video/x-raw,format=RGB ! m.sink_1 "
                     "nvstreammux name=m batch-size=2 ! appsink name=out")
    mux = p["m"]
    p.set_state(State.PLAYING)
    p["a"].push_buffer(np.zeros((4, 4, 3), np.uint8))
    p["b"].push_buffer(np.zeros((4, 4, 3), np.uint8))
    assert len(p["out"].pull_sample(timeout=5).get_buffer().batch_meta.frame_meta_list) == 2
    mux.release_request_pad(mux.get_static_pad("sink_1"))
    deadline = time.monotonic() + 5
    while 1 in mux.source_stats() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert list(mux.source_stats()) == [0]
    assert mux._quota() == 2  # the remaining source may now fill the batch alone
    for _ in range(2):
        p["a"].push_buffer(np.ones((4, 4, 3), np.uint8))
    s = p["out"].pull_sample(timeout=5)
    assert [f.source_id for f in s.get_buffer().batch_meta.frame_meta_list] == [0, 0]
    p["a"].end_of_stream()
    assert p.bus.timed_pop_filtered(5, MessageType.EOS) is not None
    p.set_state(State.NULL)


def test_partial_batches_of_several_streams_encode_into_a_valid_mp4(traffic_clip, tmp_path):
    # a tiny push timeout makes partial batches whose first frame can be older than the batch before it
    out = tmp_path / "tiled.mp4"
    srcs = " ".join(f"filesrc location={traffic_clip} ! qtdemux ! h264parse ! nvv4l2decoder ! m.sink_{i}"
                    for i in range(4))
    p = parse_launch(f"{srcs} nvstreammux name=m batch-size=4 width=320 height=180 batched-push-timeout=1000 ! "
                     "nvmultistreamtiler rows=2 columns=2 width=640 height=360 ! nvvideoconvert ! nvdsosd ! "
                     f"nvvideoconvert ! x264enc speed-preset=ultrafast ! mp4mux ! filesink location={out}")
    pts = []
    p["m"].src_pads[0].add_probe(PadProbeType.BUFFER, lambda pad, info, _: (pts.append(info.get_buffer().pts),
                                                                            PadProbeReturn.OK)[1])
    p.run(timeout=60)  # raises PipelineError if mp4mux refuses a packet
    assert len(pts) >= 48 and all(b > a for a, b in zip(pts, pts[1:], strict=False))
    with av.open(str(out)) as c:
        decoded = [f.pts for f in c.decode(video=0)]
    assert len(decoded) == len(pts) and all(b > a for a, b in zip(decoded, decoded[1:], strict=False))
