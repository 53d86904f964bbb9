"""Sources, demuxers, decoders, encoders and muxers on real clips: frame-exact, correct timestamps, clear errors."""

from __future__ import annotations

import av
import numpy as np
import pytest

from vistream import MessageType, PipelineError, State, parse_launch


def _reference_frames(path):
    with av.open(str(path)) as c:
        return [(f.to_ndarray(format="rgb24"), int(f.pts * f.time_base * 1_000_000_000)) for f in c.decode(video=0)]


def _collect(pipeline, name="out"):
    out = []
    while (s := pipeline[name].pull_sample(timeout=0)) is not None:
        out.append(s.get_buffer())
    return out


def test_mp4_decode_is_frame_exact_with_source_timestamps(traffic_clip):
    ref = _reference_frames(traffic_clip)
    p = parse_launch(f"filesrc location={traffic_clip} ! qtdemux ! h264parse ! nvv4l2decoder ! appsink name=out")
    p.run(timeout=60)
    bufs = _collect(p)
    assert len(bufs) == len(ref) == 48
    assert [b.pts for b in bufs] == [pts for _, pts in ref]
    assert np.array_equal(bufs[10].data[0], ref[10][0])
    caps = bufs[0].caps
    assert (caps["format"], caps["width"], caps["height"]) == ("RGB", 640, 360)


def test_elementary_h264_stream_decodes_every_frame(traffic_h264):
    p = parse_launch(f"filesrc location={traffic_h264} ! h264parse ! nvv4l2decoder ! appsink name=out")
    p.run(timeout=120)
    bufs = _collect(p)
    assert len(bufs) == 480
    pts = [b.pts for b in bufs]
    assert pts == sorted(pts) and len(set(pts)) == 480


@pytest.mark.parametrize("desc", [
    "filesrc location={clip} ! decodebin ! appsink name=out",
    "uridecodebin uri=file://{clip} ! appsink name=out",
    "nvurisrcbin uri={clip} ! appsink name=out",
    "filesrc location={clip} ! qtdemux ! avdec_h264 ! appsink name=out",
])
def test_decoder_spellings_give_the_same_frames(desc, traffic_clip):
    p = parse_launch(desc.format(clip=traffic_clip))
    p.run(timeout=60)
    assert len(_collect(p)) == 48


def test_decoder_outputs_the_format_a_caps_filter_asks(traffic_clip):
    p = parse_launch(f"filesrc location={traffic_clip} ! qtdemux ! nvv4l2decoder ! video/x-raw,format=BGR ! "
                     "appsink name=out")
    p.run(timeout=60)
    bgr = _collect(p)[0].data[0]
    rgb = _reference_frames(traffic_clip)[0][0]
    assert np.array_equal(bgr[..., ::-1], rgb)


def test_drop_frame_interval_keeps_every_nth_frame(traffic_clip):
    p = parse_launch(f"filesrc location={traffic_clip} ! qtdemux ! nvv4l2decoder drop-frame-interval=4 ! "
                     "appsink name=out")
    p.run(timeout=60)
    assert [b.frame_num for b in _collect(p)] == list(range(0, 48, 4))


def test_file_loop_continues_timestamps(traffic_clip):
    p = parse_launch(f"uridecodebin uri=file://{traffic_clip} file-loop=true ! appsink name=out max-buffers=0")
    p.set_state(State.PLAYING)
    got = []
    while len(got) < 100:
        s = p["out"].pull_sample(timeout=10)
        assert s is not None
        got.append(s.get_buffer())
    p.set_state(State.NULL)
    pts = [b.pts for b in got]
    assert pts == sorted(pts) and len(set(pts)) == 100
    assert got[48].frame_num == 48


def test_encode_and_mux_round_trip_keeps_frames_and_size(traffic_clip, tmp_path):
    out = tmp_path / "out.mp4"
    p = parse_launch(f"filesrc location={traffic_clip} ! qtdemux ! h264parse ! nvv4l2decoder ! "
                     f"x264enc speed-preset=ultrafast ! mp4mux ! filesink location={out}")
    p.run(timeout=120)
    with av.open(str(out)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == 48 and (frames[0].width, frames[0].height) == (640, 360)
    out_times = [float(f.pts * f.time_base) for f in frames]
    in_times = [pts / 1e9 for _, pts in _reference_frames(traffic_clip)]
    assert np.allclose(out_times, in_times, atol=1e-3)


@pytest.mark.parametrize("enc, codec, mux, ext", [
    ("nvv4l2h264enc bitrate=2000000", "h264", "qtmux", "mp4"),
    ("nvv4l2h265enc", "hevc", "matroskamux", "mkv"),
    ("avenc_mpeg4", "mpeg4", "matroskamux", "mkv"),
])
def test_encoders_and_containers(enc, codec, mux, ext, traffic_clip, tmp_path):
    out = tmp_path / f"out.{ext}"
    p = parse_launch(f"filesrc location={traffic_clip} ! qtdemux ! nvv4l2decoder ! {enc} ! {mux} ! "
                     f"filesink location={out}")
    p.run(timeout=180)
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == codec
        assert sum(1 for _ in c.decode(video=0)) == 48


def test_remux_without_reencoding(traffic_clip, tmp_path):
    out = tmp_path / "copy.mkv"
    parse_launch(f"filesrc location={traffic_clip} ! qtdemux ! h264parse ! matroskamux ! "
                 f"filesink location={out}").run(timeout=60)
    assert [f.to_ndarray().sum() for f in av.open(str(out)).decode(video=0)][:5] == \
        [f.to_ndarray().sum() for f in av.open(str(traffic_clip)).decode(video=0)][:5]


def test_missing_file_is_an_error_naming_element_and_location(tmp_path):
    missing = tmp_path / "nope.mp4"
    p = parse_launch(f"filesrc name=src location={missing} ! qtdemux ! nvv4l2decoder ! fakesink")
    with pytest.raises(PipelineError) as info:
        p.run(timeout=30)
    assert info.value.element == "src"
    assert f'Resource not found: could not open file "{missing}"' in str(info.value)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_file_is_an_error_and_other_sources_run_to_eos(damage, traffic_clip, tmp_path):
    bad = tmp_path / "bad.mp4"
    if damage == "garbage":
        bad.write_bytes(np.random.default_rng(1).integers(0, 256, 50000, dtype=np.uint8).tobytes())
    else:
        data = traffic_clip.read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    p = parse_launch(
        f"filesrc location={traffic_clip} ! qtdemux ! nvv4l2decoder ! m.sink_0 "
        f"filesrc location={bad} ! qtdemux name=baddemux ! nvv4l2decoder ! m.sink_1 "
        "nvstreammux name=m batch-size=2 ! appsink name=out")
    with pytest.raises(PipelineError) as info:
        p.run(timeout=60)
    assert info.value.element == "baddemux"
    assert str(bad) in str(info.value)
    frames = [fm.source_id for b in _collect(p) for fm in b.batch_meta.frame_meta_list]
    assert frames.count(0) == 48 and frames.count(1) == 0


def test_unsupported_or_non_video_file_is_a_clear_error(tmp_path):
    txt = tmp_path / "notes.txt"
    txt.write_text("not a video\n" * 100)
    p = parse_launch(f"filesrc location={txt} ! decodebin name=d ! fakesink")
    with pytest.raises(PipelineError) as info:
        p.run(timeout=30)
    assert info.value.element == "d" and str(txt) in str(info.value)


def test_output_directory_missing_fails_at_start(traffic_clip, tmp_path):
    p = parse_launch(f"filesrc location={traffic_clip} ! qtdemux ! h264parse ! mp4mux ! "
                     f"filesink name=fs location={tmp_path}/no/such/dir/out.mp4")
    with pytest.raises(PipelineError) as info:
        p.run(timeout=30)
    assert info.value.element == "fs" and "does not exist" in str(info.value)


def test_uridecodebin_pad_added_signal_for_python_apps(traffic_clip):
    from vistream import Pipeline, make_element

    p = Pipeline()
    src = make_element("uridecodebin", uri=f"file://{traffic_clip}")
    sink = make_element("appsink", "out")
    p.add(src, sink)
    added = []

    def on_pad_added(element, pad, target):
        added.append(pad.name)
        pad.link(target.get_static_pad("sink"))

    src.connect("pad-added", on_pad_added, sink)
    p.run(timeout=60)
    assert added == ["src_0"] and len(_collect(p)) == 48


def test_matroska_input(traffic_clip, tmp_path):
    mkv = tmp_path / "in.mkv"
    with av.open(str(traffic_clip)) as src, av.open(str(mkv), "w") as dst:
        s = dst.add_stream_from_template(src.streams.video[0])
        for pkt in src.demux(video=0):
            if pkt.size:
                pkt.stream = s
                dst.mux(pkt)
    p = parse_launch(f"filesrc location={mkv} ! matroskademux ! h264parse ! nvv4l2decoder ! appsink name=out")
    p.run(timeout=60)
    assert len(_collect(p)) == 48


def test_h264parse_rejects_other_codecs(tmp_path, traffic_clip):
    mpeg4 = tmp_path / "m4.mkv"
    parse_launch(f"filesrc location={traffic_clip} ! qtdemux ! nvv4l2decoder ! avenc_mpeg4 ! matroskamux ! "
                 f"filesink location={mpeg4}").run(timeout=60)
    p = parse_launch(f"filesrc location={mpeg4} ! matroskademux ! h264parse name=hp ! nvv4l2decoder ! fakesink")
    with pytest.raises(PipelineError) as info:
        p.run(timeout=30)
    assert info.value.element == "hp" and "cannot parse video/mpeg: this parser takes h264" in str(info.value)


def test_bus_error_message_can_be_polled(tmp_path):
    p = parse_launch(f"filesrc location={tmp_path}/x.mp4 ! qtdemux ! fakesink")
    p.set_state(State.PLAYING)
    msg = p.bus.timed_pop_filtered(10, MessageType.ERROR)
    p.set_state(State.NULL)
    err, _ = msg.parse_error()
    assert msg.src.factory_name == "filesrc" and "x.mp4" in str(err)


