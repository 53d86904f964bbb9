"""Engine behaviour: states, bus, EOS, probes, back-pressure, leaky queues, errors, the Python API."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import vistream
from vistream import (
    Buffer,
    Element,
    ElementError,
    FlowReturn,
    MessageType,
    PadProbeReturn,
    PadProbeType,
    Pipeline,
    PipelineError,
    Property,
    State,
    StateChangeReturn,
    make_element,
    parse_launch,
    register,
)
from vistream.core.element import SINK_ANY, SRC_ANY


def test_python_api_builds_and_runs_a_pipeline():
    pipeline = Pipeline("p")
    src = make_element("videotestsrc", "src", num_buffers=12)
    conv = make_element("capsfilter", caps="video/x-raw,width=64,height=32")
    sink = make_element("appsink", "out")
    pipeline.add(src, conv, sink)
    assert src.link(conv) and conv.link(sink)
    assert pipeline.get_by_name("out") is sink
    pipeline.run(timeout=30)
    frames = []
    while (sample := sink.pull_sample(timeout=0)) is not None:
        frames.append(sample.get_buffer())
    assert len(frames) == 12
    assert frames[0].data.shape == (1, 32, 64, 3)
    assert [b.pts for b in frames[:3]] == [0, 33333333, 66666666]


def test_state_changes_are_posted_on_the_bus():
    p = parse_launch("videotestsrc num-buffers=1 ! fakesink")
    assert p.set_state(State.PLAYING) == StateChangeReturn.SUCCESS
    assert p.bus.timed_pop_filtered(10, MessageType.EOS) is not None
    p.set_state(State.NULL)
    msgs = []
    while (m := p.bus.pop()) is not None:
        msgs.append(m)
    changes = [(m.src_name, *m.parse_state_changed()[:2]) for m in msgs if m.type == MessageType.STATE_CHANGED]
    assert (p.name, State.PLAYING, State.NULL) in changes
    sink_states = [new for name, _, new in changes if name.startswith("fakesink")]
    assert sink_states[-1] == State.NULL


def test_eos_reaches_every_sink_of_a_tee():
    p = parse_launch("videotestsrc num-buffers=9 ! tee name=t t. ! queue ! fakesink name=a "
                     "t. ! queue max-size-buffers=1 ! fakesink name=b")
    p.run(timeout=30)
    assert p["a"].rendered == 9 and p["b"].rendered == 9


def _counting_probe(calls):
    def probe(pad, info, user_data):
        calls.append((pad.name, info.get_buffer().pts, user_data))
        return PadProbeReturn.OK
    return probe


def test_buffer_probe_receives_pad_info_and_user_data():
    p = parse_launch("videotestsrc num-buffers=4 ! fakesink name=s")
    calls = []
    p["s"].get_static_pad("sink").add_probe(PadProbeType.BUFFER, _counting_probe(calls), "ud")
    p.run(timeout=30)
    assert [c[0] for c in calls] == ["sink"] * 4 and calls[0][2] == "ud"


def test_probe_drop_and_remove():
    p = parse_launch("videotestsrc num-buffers=10 ! identity name=i ! fakesink name=s")
    seen = []

    def drop_odd(pad, info, _):
        return PadProbeReturn.DROP if info.get_buffer().frame_num % 2 else PadProbeReturn.OK

    def once(pad, info, _):
        seen.append(info.get_buffer().frame_num)
        return PadProbeReturn.REMOVE

    p["i"].get_static_pad("src").add_probe(PadProbeType.BUFFER, drop_odd)
    p["s"].get_static_pad("sink").add_probe(PadProbeType.BUFFER, once)
    p.run(timeout=30)
    assert p["s"].rendered == 5
    assert seen == [0]


def test_probe_can_edit_metadata_seen_downstream(traffic_clip):
    p = parse_launch(f"filesrc location={traffic_clip} ! qtdemux ! h264parse ! nvv4l2decoder ! m.sink_0 "
                     "nvstreammux name=m batch-size=1 ! identity name=i ! appsink name=out")
    from vistream.meta import get_batch_meta, make_object

    def add_object(pad, info, _):
        fm = get_batch_meta(info.get_buffer()).frame_meta_list[0]
        fm.add_obj_meta(make_object(10, 20, 30, 40, class_id=7, label="probe"))
        return PadProbeReturn.OK

    p["i"].get_static_pad("src").add_probe(PadProbeType.BUFFER, add_object)
    p.run(timeout=60)
    sample = p["out"].pull_sample(timeout=0)
    fm = get_batch_meta(sample.get_buffer()).frame_meta_list[0]
    assert [(o.class_id, o.obj_label, o.rect_params.left) for o in fm.obj_meta_list] == [(7, "probe", 10.0)]


@register
class _Slow(Element):
    FACTORY = "test-slowsink"
    PAD_TEMPLATES = (SINK_ANY,)
    PROPERTIES = (Property.float("delay", 0.01, "seconds per buffer", 0, 10),)

    def chain(self, pad, buffer):
        time.sleep(self._props["delay"])
        self.count = getattr(self, "count", 0) + 1
        return FlowReturn.OK


def test_queue_applies_back_pressure_and_never_grows():
    p = parse_launch("videotestsrc num-buffers=40 ! video/x-raw,width=16,height=16 ! "
                     "queue name=q max-size-buffers=3 max-size-time=0 max-size-bytes=0 ! test-slowsink name=s delay=0.005")
    p.run(timeout=30)
    q = p["q"]
    assert q._queue.peak_buffers <= 3
    assert q.dropped == 0
    assert p["s"].count == 40


@pytest.mark.parametrize("leaky, expect_first", [("upstream", 0), ("downstream", None)])
def test_leaky_queue_drops_instead_of_blocking(leaky, expect_first):
    p = parse_launch("videotestsrc num-buffers=30 ! video/x-raw,width=16,height=16 ! "
                     f"queue name=q leaky={leaky} max-size-buffers=2 max-size-time=0 ! "
                     "test-slowsink name=s delay=0.02")
    got = []
    p["s"].get_static_pad("sink").add_probe(PadProbeType.BUFFER,
                                             lambda pad, info, _: got.append(info.get_buffer().frame_num) or 1)
    p.run(timeout=30)
    assert p["q"].dropped > 10
    assert len(got) + p["q"].dropped == 30
    if leaky == "upstream":
        assert got[0] == 0  # old buffers kept, new ones dropped
    else:
        assert got[-1] == 29  # the newest buffer always survives


@register
class _Failing(Element):
    FACTORY = "test-fail"
    PAD_TEMPLATES = (SINK_ANY, SRC_ANY)
    PROPERTIES = (Property.int("fail-at", 3, "frame that fails"),)

    def chain(self, pad, buffer):
        if buffer.frame_num == self._props["fail-at"]:
            raise ElementError("synthetic failure", self.name)
        return self.push(buffer)


def test_error_names_the_element_and_run_raises_it():
    p = parse_launch("videotestsrc num-buffers=10 ! test-fail name=bad fail-at=3 ! fakesink name=s")
    with pytest.raises(PipelineError) as info:
        p.run(timeout=30)
    assert info.value.element == "bad"
    assert "bad: synthetic failure" in str(info.value)
    assert p["s"].rendered == 3


def test_change_state_raises_the_failing_elements_error():
    """A state change that fails (an element that cannot start) raises PipelineError naming the element."""
    p = parse_launch("uridecodebin name=src ! fakesink")
    with pytest.raises(PipelineError) as info:
        p.change_state(State.PAUSED)
    assert info.value.element == "src" and 'property "uri" is not set' in str(info.value)
    p.set_state(State.NULL)
    ok = parse_launch("videotestsrc num-buffers=2 ! fakesink")
    assert ok.change_state(State.PLAYING) != StateChangeReturn.FAILURE
    ok.set_state(State.NULL)


def test_unexpected_exception_becomes_bus_error():
    @register
    class _Buggy(Element):
        FACTORY = "test-buggy"
        PAD_TEMPLATES = (SINK_ANY, SRC_ANY)

        def chain(self, pad, buffer):
            return 1 / 0

    p = parse_launch("videotestsrc num-buffers=3 ! test-buggy name=b ! fakesink")
    p.set_state(State.PLAYING)
    msg = p.bus.timed_pop_filtered(10, MessageType.ERROR)
    p.set_state(State.NULL)
    err, debug = msg.parse_error()
    assert msg.src_name == "b" and "ZeroDivisionError" in str(err) and "Traceback" in debug


def test_appsrc_feeds_numpy_frames_with_timestamps():
    p = parse_launch("appsrc name=in caps=video/x-raw,format=BGR,framerate=10/1 ! appsink name=out")
    src = p["in"]
    p.set_state(State.PLAYING)

    def feed():
        for i in range(5):
            src.push_buffer(np.full((8, 12, 3), i, np.uint8))
        src.end_of_stream()

    threading.Thread(target=feed).start()
    assert p.bus.timed_pop_filtered(10, MessageType.EOS) is not None
    out = []
    while (s := p["out"].pull_sample(timeout=0)) is not None:
        out.append(s)
    p.set_state(State.NULL)
    assert [int(s.get_buffer().data[0, 0, 0, 0]) for s in out] == [0, 1, 2, 3, 4]
    assert [s.get_buffer().pts for s in out] == [0, 100_000_000, 200_000_000, 300_000_000, 400_000_000]
    assert out[0].get_caps()["format"] == "BGR" and out[0].get_caps()["width"] == 12


def test_appsink_new_sample_signal():
    p = parse_launch("videotestsrc num-buffers=6 ! appsink name=out emit-signals=true")
    got = []

    def on_sample(sink, tag):
        got.append((tag, sink.pull_sample(timeout=1).get_buffer().frame_num))
        return FlowReturn.OK

    p["out"].connect("new-sample", on_sample, "t")
    p.run(timeout=30)
    assert got == [("t", i) for i in range(6)]


def test_send_eos_finishes_an_endless_source():
    p = parse_launch("videotestsrc is-live=true ! fakesink name=s")
    p.set_state(State.PLAYING)
    time.sleep(0.3)
    p.send_event(vistream.Event.eos())
    assert p.bus.timed_pop_filtered(5, MessageType.EOS) is not None
    p.set_state(State.NULL)
    assert 3 <= p["s"].rendered <= 30


def test_set_state_null_stops_threads_of_an_endless_pipeline():
    p = parse_launch("videotestsrc ! queue ! fakesink")
    p.set_state(State.PLAYING)
    time.sleep(0.1)
    p.set_state(State.NULL)
    assert not p._any_thread_alive()


def test_element_properties_from_python():
    mux = make_element("nvstreammux", "m", batch_size=4, width=1280, height=720, batched_push_timeout=40000)
    assert mux.get_property("batch-size") == 4 and mux.props.batched_push_timeout == 40000
    mux.set_property("live-source", "1")
    assert mux.props.live_source is True
    with pytest.raises(ValueError, match="out of range"):
        mux.set_property("batch-size", 0)
    with pytest.raises(ValueError, match='did you mean "width"'):
        mux.set_property("widht", 3)
    pad = mux.request_pad("sink_%u")
    assert pad.name == "sink_0" and mux.request_pad_simple("sink_3").name == "sink_3"
    with pytest.raises(ElementError, match='no element "nvstreamux"'):
        make_element("nvstreamux")


def test_buffer_is_hashable_for_pyds_style_code():
    b = Buffer(np.zeros((1, 2, 2, 3), np.uint8))
    assert hash(b) == id(b)


def test_iterating_buffers_from_an_appsink(traffic_clip):
    from vistream import Pipeline

    with Pipeline.from_launch(f"filesrc location={traffic_clip} ! qtdemux ! nvv4l2decoder ! m.sink_0 "
                              "nvstreammux name=m batch-size=4 ! appsink name=out") as p:
        nums = [fm.frame_num for buf in p.buffers() for fm in buf.batch_meta.frame_meta_list]
    assert nums == list(range(48))


def test_iterating_raises_the_error_after_the_stream(tmp_path):
    p = parse_launch(f"filesrc location={tmp_path}/none.mp4 ! qtdemux ! appsink")
    with pytest.raises(PipelineError, match="none.mp4"):
        list(p.buffers())


def test_run_stop_on_error_stops_the_other_streams(tmp_path):
    """By default an error ends only its own stream; stop_on_error=True ends the pipeline at the first one."""
    launch = (f"filesrc location={tmp_path}/none.mp4 ! qtdemux ! fakesink "
              "videotestsrc num-buffers=100000000 ! fakesink name=endless")
    with pytest.raises(TimeoutError):
        parse_launch(launch).run(timeout=2)  # the endless stream keeps running after the error
    p = parse_launch(launch)
    t0 = time.monotonic()
    with pytest.raises(PipelineError, match="none.mp4"):
        p.run(timeout=60, stop_on_error=True)
    assert time.monotonic() - t0 < 30
