"""Gst and GLib over vistream's engine: factories, properties, links, bins and ghost pads, probes, bus, main loop."""

from __future__ import annotations

import logging
import threading

import numpy as np
import pytest

from vistream import PropertyError
from vistream.compat import GLib, Gst, pyds


def _watch(pipeline, loop, seen):
    def bus_call(bus, message, loop):
        seen.append((message.type, threading.get_ident()))
        if message.type == Gst.MessageType.EOS:
            loop.quit()
        elif message.type == Gst.MessageType.ERROR:
            err, debug = message.parse_error()
            seen.append(("error", str(err), err.message, message.src.get_name()))
            loop.quit()
        return True

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", bus_call, loop)


def _run(pipeline, seen, timeout=30.0):
    loop = GLib.MainLoop()
    _watch(pipeline, loop, seen)
    timer = threading.Timer(timeout, loop.quit)  # a hung pipeline fails the test instead of blocking it
    timer.start()
    try:
        assert pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.SUCCESS
        loop.run()
    finally:
        timer.cancel()
        pipeline.set_state(Gst.State.NULL)


def test_unknown_factory_returns_none_and_logs_the_suggestion(caplog):
    Gst.init(None)
    with caplog.at_level(logging.WARNING, logger="vistream.compat"):
        assert Gst.ElementFactory.make("nvstreamux", "mux") is None
    assert 'no element "nvstreamux" (did you mean "nvstreammux"?)' in caplog.text
    assert Gst.ElementFactory.find("nvstreammux").get_name() == "nvstreammux"


def test_properties_are_checked_and_named():
    mux = Gst.ElementFactory.make("nvstreammux", "Stream-muxer")
    mux.set_property("batched-push-timeout", 4000000)
    mux.set_property("width", 1280)
    assert mux.get_property("batched-push-timeout") == 4000000 and mux.get_property("width") == 1280
    with pytest.raises(PropertyError, match='Stream-muxer: no property "widht".*did you mean "width"'):
        mux.set_property("widht", 1)
    with pytest.raises(PropertyError, match="Stream-muxer:width"):
        mux.set_property("width", "wide")


def test_failed_links_return_false_with_the_reason_logged(caplog):
    pipeline = Gst.Pipeline()
    sink = Gst.ElementFactory.make("fakesink", "sink")
    src = Gst.ElementFactory.make("videotestsrc", "src")
    pipeline.add(src)
    pipeline.add(sink)
    with caplog.at_level(logging.WARNING, logger="vistream.compat"):
        assert sink.link(src) is False
        assert src.link(sink) is True
        assert src.get_static_pad("src").link(sink.get_static_pad("sink")) == Gst.PadLinkReturn.WAS_LINKED
        assert Gst.ElementFactory.make("nvstreammux", "m").request_pad_simple("src_0") is None
    assert '"sink" has no free src pad' in caplog.text and "already linked" in caplog.text
    assert 'has no request pad "src_0"' in caplog.text


def test_bus_messages_run_in_the_loop_thread_and_eos_quits():
    pipeline = Gst.Pipeline()
    src = Gst.ElementFactory.make("videotestsrc", "src")
    src.set_property("num-buffers", 5)
    sink = Gst.ElementFactory.make("fakesink", "sink")
    pipeline.add(src)
    pipeline.add(sink)
    assert src.link(sink)
    buffers = []
    sink.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER,
                                          lambda pad, info, ud: buffers.append(ud) or Gst.PadProbeReturn.OK, "x")
    seen = []
    _run(pipeline, seen)
    assert buffers == ["x"] * 5
    assert (Gst.MessageType.EOS, threading.get_ident()) in seen
    assert all(tid == threading.get_ident() for _, tid in seen[:-1])  # never a streaming thread


def test_error_reaches_the_bus_callback_naming_the_element():
    pipeline = Gst.Pipeline()
    src = Gst.ElementFactory.make("filesrc", "file-source")
    src.set_property("location", "does/not/exist.h264")
    parse = Gst.ElementFactory.make("h264parse", "parser")
    sink = Gst.ElementFactory.make("fakesink", "sink")
    for el in (src, parse, sink):
        pipeline.add(el)
    src.link(parse)
    parse.link(sink)
    seen = []
    _run(pipeline, seen)
    errors = [s for s in seen if s[0] == "error"]
    assert len(errors) == 1
    _, text, message, src_name = errors[0]
    assert src_name == "file-source" and text.startswith("file-source:") and "does/not/exist.h264" in message


def test_source_bins_with_ghost_pads_and_pad_added(traffic_clip, people_clip):
    """The deepstream-test3 structure: one Gst.Bin per URI, ghost pad targeted from pad-added."""
    pipeline = Gst.Pipeline()
    mux = Gst.ElementFactory.make("nvstreammux", "mux")
    mux.set_property("batch-size", 2)
    mux.set_property("width", 320)
    mux.set_property("height", 180)
    mux.set_property("batched-push-timeout", 4000000)
    pipeline.add(mux)
    caps_seen = []

    def cb_newpad(decodebin, pad, source_bin):
        caps = pad.get_current_caps() or pad.query_caps()
        caps_seen.append((caps.get_structure(0).get_name(), caps.get_features(0).contains("memory:NVMM")))
        assert source_bin.get_static_pad("src").set_target(pad)

    for i, clip in enumerate((traffic_clip, people_clip)):
        nbin = Gst.Bin.new(f"source-bin-{i:02d}")
        dec = Gst.ElementFactory.make("uridecodebin", "uri-decode-bin")  # same name in both bins
        dec.set_property("uri", clip.resolve().as_uri())
        dec.connect("pad-added", cb_newpad, nbin)
        Gst.Bin.add(nbin, dec)
        assert Gst.Element.add_pad(nbin, Gst.GhostPad.new_no_target("src", Gst.PadDirection.SRC))
        pipeline.add(nbin)
        assert nbin.get_static_pad("src").link(mux.request_pad_simple(f"sink_{i}")) == Gst.PadLinkReturn.OK
    sink = Gst.ElementFactory.make("fakesink", "sink")
    pipeline.add(sink)
    mux.link(sink)
    frames = []

    def probe(pad, info, u_data):
        batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(info.get_buffer()))
        l_frame = batch_meta.frame_meta_list
        while l_frame is not None:
            fm = pyds.NvDsFrameMeta.cast(l_frame.data)
            frames.append((fm.pad_index, fm.frame_num))
            l_frame = l_frame.next
        return Gst.PadProbeReturn.OK

    sink.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe, 0)
    seen = []
    _run(pipeline, seen)
    assert caps_seen == [("video/x-raw", True)] * 2
    assert sorted(frames) == [(s, n) for s in (0, 1) for n in range(48)]
    assert pipeline.get_by_name("source-bin-01").get_by_name("uri-decode-bin").get_name() == \
        "source-bin-01/uri-decode-bin"


def test_capsfilter_caps_and_timed_pop_in_nanoseconds():
    pipeline = Gst.parse_launch("videotestsrc num-buffers=3 ! nvvideoconvert ! capsfilter name=f ! fakesink name=s")
    pipeline.get_by_name("f").set_property("caps", Gst.Caps.from_string("video/x-raw(memory:NVMM), format=RGBA, "
                                                                         "width=64, height=48"))
    caps = []
    pipeline.get_by_name("s").get_static_pad("sink").add_probe(
        Gst.PadProbeType.BUFFER, lambda pad, info: caps.append(pad.get_current_caps()) or Gst.PadProbeReturn.OK)
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(20 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    assert msg is not None and msg.type == Gst.MessageType.EOS
    s = caps[-1].get_structure(0)
    assert (s.get_name(), s.get_string("format"), s.get_int("width"), s.get_int("height")) == (
        "video/x-raw", "RGBA", (True, 64), (True, 48))


def test_main_loop_timeouts_idle_and_quit_from_another_thread():
    loop = GLib.MainLoop()
    ticks, idles = [], []

    def tick():
        ticks.append(threading.get_ident())
        return len(ticks) < 3  # repeats until it returns False

    GLib.timeout_add(5, tick)
    GLib.idle_add(lambda: idles.append(1))  # returns None: runs once
    removed = GLib.timeout_add(1, lambda: ticks.append("never"))
    assert GLib.source_remove(removed)
    threading.Timer(0.3, loop.quit).start()
    loop.run()
    assert ticks == [threading.get_ident()] * 3 and idles == [1] and not loop.is_running()


def test_gi_require_version_lines_keep_working():
    from vistream.compat import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GLib", "2.0")
    assert gi.repository.Gst is Gst and gi.repository.GLib is GLib
    with pytest.raises(ValueError, match="provides Gst, GLib and GObject, not 'Gtk'"):
        gi.require_version("Gtk", "3.0")


def test_appsink_pull_sample_and_eos_into_one_muxer_pad():
    """new-sample handlers pull with emit("pull-sample") and read the meta through pyds; an EOS sent into the
    muxer's sink_0 (how sources are removed at run time) ends that source while the pipeline is running."""
    pipeline = Gst.parse_launch(
        "videotestsrc num-buffers=400 ! m.sink_0 videotestsrc num-buffers=5 ! m.sink_1 "
        "nvstreammux name=m batch-size=2 width=64 height=48 ! appsink name=a emit-signals=true")
    mux = pipeline.get_by_name("m")
    frames = []

    def on_new_sample(sink, data):
        sample = sink.emit("pull-sample")
        batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(sample.get_buffer()))
        l_frame = batch_meta.frame_meta_list
        while l_frame is not None:
            fm = pyds.NvDsFrameMeta.cast(l_frame.data)
            data.append((fm.pad_index, fm.frame_num))
            l_frame = l_frame.next
        if len(data) == 20:
            assert mux.get_static_pad("sink_0").send_event(Gst.Event.new_eos())
        return Gst.FlowReturn.OK

    pipeline.get_by_name("a").connect("new-sample", on_new_sample, frames)
    seen = []
    _run(pipeline, seen)
    assert (Gst.MessageType.EOS, threading.get_ident()) in seen
    assert sorted(f for s, f in frames if s == 1) == list(range(5))
    # source 0 stopped at its EOS, long before its 400 buffers (a batch or two may be in flight)
    assert 14 <= max(f for s, f in frames if s == 0) < 30  # 15 + 5 frames were in when EOS was sent


def test_an_exception_in_a_callback_is_printed_and_the_loop_goes_on(capsys):
    loop = GLib.MainLoop()
    calls = []

    def broken():
        calls.append("broken")
        raise RuntimeError("boom")

    GLib.timeout_add(1, broken)
    GLib.timeout_add(30, loop.quit)
    loop.run()
    assert calls == ["broken"]  # printed once, then removed
    err = capsys.readouterr().err
    assert "RuntimeError: boom" in err and "broken" in err


def test_sources_added_while_playing(traffic_clip, people_clip):
    """The runtime source addition style: a uridecodebin added from the main loop to a playing pipeline, linked
    to a new muxer pad in its pad-added callback."""
    pipeline = Gst.Pipeline()
    mux = Gst.ElementFactory.make("nvstreammux", "mux")
    mux.set_property("batch-size", 2)
    mux.set_property("width", 320)
    mux.set_property("height", 180)
    mux.set_property("batched-push-timeout", 40000)
    pipeline.add(mux)
    added = threading.Event()
    links = []

    def cb_newpad(decodebin, pad, index):
        links.append(pad.link(mux.request_pad_simple(f"sink_{index}")))

    def add_source(index, clip):
        src = Gst.ElementFactory.make("uridecodebin", f"source-{index}")
        src.set_property("uri", clip.resolve().as_uri())
        src.connect("pad-added", cb_newpad, index)
        pipeline.add(src)
        assert src.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.SUCCESS
        added.set()
        return False

    add_source(0, traffic_clip)
    added.clear()
    sink = Gst.ElementFactory.make("fakesink", "sink")
    pipeline.add(sink)
    mux.link(sink)
    frames = []

    def probe(pad, info, u_data):
        batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(info.get_buffer()))
        l_frame = batch_meta.frame_meta_list
        while l_frame is not None:
            fm = pyds.NvDsFrameMeta.cast(l_frame.data)
            frames.append((fm.pad_index, fm.frame_num))
            if (fm.pad_index, fm.frame_num) == (0, 5):
                GLib.idle_add(add_source, 1, people_clip)
                assert added.wait(10)  # hold source 0 until the main loop has added source 1
            l_frame = l_frame.next
        return Gst.PadProbeReturn.OK

    sink.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe, 0)
    _run(pipeline, [])
    assert links == [Gst.PadLinkReturn.OK] * 2
    assert sorted(f for s, f in frames if s == 0) == list(range(48))
    assert sorted(f for s, f in frames if s == 1) == list(range(48))


def test_display_meta_from_pyds_is_drawn_by_the_osd():
    """num_rects / num_labels decide what nvdsosd draws: one filled blue rectangle, no text; an object added
    from the pool is drawn as a box."""
    pipeline = Gst.parse_launch(
        "videotestsrc num-buffers=2 pattern=black ! nvvideoconvert ! video/x-raw,format=RGBA,width=64,height=48 ! "
        "m.sink_0 nvstreammux name=m batch-size=1 ! nvdsosd name=osd ! fakesink name=sink")

    def add_display_meta(pad, info, u_data):
        batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(info.get_buffer()))
        frame_meta = pyds.NvDsFrameMeta.cast(batch_meta.frame_meta_list.data)
        display_meta = pyds.nvds_acquire_display_meta_from_pool(batch_meta)
        rect = display_meta.rect_params[0]
        rect.left, rect.top, rect.width, rect.height = 10, 8, 20, 16
        rect.border_width = 0
        rect.has_bg_color = 1
        rect.bg_color.set(0.0, 0.0, 1.0, 1.0)
        display_meta.num_rects = 1
        display_meta.text_params[0].display_text = "never drawn: num_labels stays 0"
        display_meta.text_params[0].set_bg_clr = 1
        display_meta.text_params[0].text_bg_clr.set(1.0, 1.0, 1.0, 1.0)
        pyds.nvds_add_display_meta_to_frame(frame_meta, display_meta)
        obj = pyds.nvds_acquire_obj_meta_from_pool(batch_meta)  # an object of our own, drawn as a green box
        obj.rect_params.left, obj.rect_params.top, obj.rect_params.width, obj.rect_params.height = 40, 30, 20, 14
        obj.rect_params.border_width = 2
        obj.rect_params.border_color.set(0.0, 1.0, 0.0, 1.0)
        obj.text_params.display_text = ""
        pyds.nvds_add_obj_meta_to_frame(frame_meta, obj, None)
        return Gst.PadProbeReturn.OK

    frames = []

    def grab(pad, info, u_data):
        frames.append(pyds.get_nvds_buf_surface(hash(info.get_buffer()), 0).copy())
        return Gst.PadProbeReturn.OK

    pipeline.get_by_name("osd").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, add_display_meta, 0)
    pipeline.get_by_name("sink").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, grab, 0)
    _run(pipeline, [])
    assert len(frames) == 2
    frame = frames[0]
    assert frame[8:24, 10:30, :3].reshape(-1, 3).tolist() == [[0, 0, 255]] * (16 * 20)
    assert frame[30, 45, :3].tolist() == [0, 255, 0] and frame[43, 50, :3].tolist() == [0, 255, 0]  # box edges
    assert frame[37, 50, :3].tolist() == [0, 0, 0]  # inside the box: not filled
    outside = np.ones(frame.shape[:2], bool)
    outside[8:24, 10:30] = False
    outside[28:46, 38:62] = False
    assert frame[outside][:, :3].max() < 40  # black, no white text background anywhere


def test_bus_add_watch_and_detailed_message_signals():
    pipeline = Gst.parse_launch("videotestsrc num-buffers=3 ! fakesink")
    loop = GLib.MainLoop()
    watched, eos = [], []

    def watch(bus, message, tag):
        watched.append(message.type)
        return False  # removed after the first message, as a GLib watch

    bus = pipeline.get_bus()
    bus.add_watch(GLib.PRIORITY_DEFAULT, watch, "w")
    bus.connect("message::eos", lambda bus, message: eos.append(message.src.get_name()) or loop.quit())
    with pytest.raises(ValueError, match='unknown message type "finished"'):
        bus.connect("message::finished", print)
    pipeline.set_state(Gst.State.PLAYING)
    timer = threading.Timer(20, loop.quit)
    timer.start()
    loop.run()
    timer.cancel()
    pipeline.set_state(Gst.State.NULL)
    assert len(watched) == 1 and eos == [pipeline.get_name()]


def test_stream_eos_element_messages_name_the_source():
    """The muxer's per-source EOS arrives as an ELEMENT message "stream-eos" with a "stream-id" field."""
    pipeline = Gst.parse_launch(
        "videotestsrc num-buffers=3 ! m.sink_0 videotestsrc num-buffers=6 ! m.sink_1 "
        "nvstreammux name=m batch-size=2 width=64 height=48 ! fakesink")
    loop = GLib.MainLoop()
    ended = []

    def bus_call(bus, message, loop):
        if message.type == Gst.MessageType.ELEMENT:
            struct = message.get_structure()
            if struct is not None and struct.has_name("stream-eos"):
                parsed, stream_id = struct.get_uint("stream-id")
                assert parsed
                ended.append(stream_id)
        elif message.type in (Gst.MessageType.EOS, Gst.MessageType.ERROR):
            loop.quit()
        return True

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", bus_call, loop)
    pipeline.set_state(Gst.State.PLAYING)
    timer = threading.Timer(20, loop.quit)
    timer.start()
    loop.run()
    timer.cancel()
    pipeline.set_state(Gst.State.NULL)
    assert ended == [0, 1]
