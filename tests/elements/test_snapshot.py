"""jpegenc, pngenc and multifilesink: files written with the right names and count, decodable, with the right
pictures."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import vistream.elements.snapshot  # noqa: F401  (registers jpegenc, pngenc, multifilesink)
from tests.elements.element_helpers import play
from vistream import (
    Buffer,
    Caps,
    MessageType,
    Pipeline,
    PipelineError,
    PropertyError,
    State,
    make_element,
    parse_launch,
)
from vistream.elements.snapshot import encode_image, format_location
from vistream.meta import BatchMeta, FrameMeta


def run_through(elements, buffers, messages=None):
    """``appsrc ! elements...`` played to the end; the ELEMENT messages' structures go to ``messages``."""
    p = Pipeline()
    if messages is not None:
        p.bus.add_watch(lambda bus, m: messages.append(m.get_structure()) if m.type == MessageType.ELEMENT else None)
    return play(elements, buffers, p)


def raw(frames, fmt="RGB", metas=None, pts=0):
    frames = np.asarray(frames)
    h, w = frames.shape[1:3]
    return Buffer(frames, pts=pts, caps=Caps("video/x-raw", format=fmt, width=w, height=h),
                  batch_meta=BatchMeta(len(metas), metas) if metas else None)


def test_jpegenc_and_multifilesink_write_decodable_numbered_files(tmp_path, traffic_clip):
    p = parse_launch(f"filesrc location={traffic_clip} ! qtdemux ! h264parse ! nvv4l2decoder ! "
                     f"jpegenc quality=90 ! multifilesink name=snap location={tmp_path}/snap_%05d.jpg")
    p.run(timeout=60)
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == [f"snap_{i:05d}.jpg" for i in range(48)]
    import av

    with av.open(str(traffic_clip)) as c:
        ref = [f.to_ndarray(format="rgb24") for _, f in zip(range(48), c.decode(video=0), strict=False)]
    for i in (0, 47):
        img = cv2.cvtColor(cv2.imread(str(files[i])), cv2.COLOR_BGR2RGB)
        assert img.shape == (360, 640, 3)
        assert np.abs(img.astype(int) - ref[i].astype(int)).mean() < 3  # quality 90
    assert p["snap"].files[-1].endswith("snap_00047.jpg")


def test_jpeg_buffers_carry_caps_pts_and_source(tmp_path):
    frames = np.stack([np.full((24, 32, 3), v, np.uint8) for v in (0, 128, 255)])
    metas = [FrameMeta(source_id=s, batch_id=i, frame_num=10 + s, buf_pts=1000 * (s + 1)) for i, s in enumerate((2, 0, 1))]
    p = Pipeline()
    src, enc, sink = make_element("appsrc"), make_element("jpegenc", quality=95), make_element("appsink")
    p.add(src, enc, sink)
    src.link(enc)
    enc.link(sink)
    p.set_state(State.PLAYING)
    src.push_buffer(raw(frames, "BGR", metas))
    src.end_of_stream()
    p.run(timeout=30)
    outs = []
    while (s := sink.pull_sample(timeout=0)) is not None:
        outs.append(s.get_buffer())
    assert len(outs) == 3  # one image per frame of the batch
    assert [(b.source_id, b.frame_num, b.pts) for b in outs] == [(2, 12, 3000), (0, 10, 1000), (1, 11, 2000)]
    assert all(b.caps.media_type == "image/jpeg" and (b.caps["width"], b.caps["height"]) == (32, 24) for b in outs)
    decoded = [cv2.imdecode(np.frombuffer(b.data, np.uint8), cv2.IMREAD_GRAYSCALE) for b in outs]
    assert [int(round(d.mean())) for d in decoded] == [0, 128, 255]
    assert outs[0].extra["frame_meta"] is metas[0]


def test_multifilesink_encodes_raw_frames_by_extension_losslessly_for_png(tmp_path):
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (3, 20, 30, 3), dtype=np.uint8)
    run_through([make_element("multifilesink", location=str(tmp_path / "f_%d.png"), index=5)], [raw(frames, "RGB")])
    names = sorted(f.name for f in tmp_path.iterdir())
    assert names == ["f_5.png", "f_6.png", "f_7.png"]
    for i in range(3):
        back = cv2.cvtColor(cv2.imread(str(tmp_path / f"f_{5 + i}.png")), cv2.COLOR_BGR2RGB)
        assert np.array_equal(back, frames[i])  # RGB frames stored in the right channel order


def test_max_files_keeps_only_the_newest(tmp_path):
    bufs = [raw(np.full((1, 8, 8, 3), i * 20, np.uint8), pts=i) for i in range(6)]
    msgs: list[dict] = []
    run_through([make_element("jpegenc"), make_element("multifilesink", "snap", location=str(tmp_path / "s%03d.jpg"),
                                                       max_files=2, post_messages=True)], bufs, msgs)
    assert sorted(f.name for f in tmp_path.iterdir()) == ["s004.jpg", "s005.jpg"]
    assert [(m["name"], m["index"], m["timestamp"]) for m in msgs] == [("GstMultiFileSink", i, i) for i in range(6)]
    assert msgs[5]["filename"].endswith("s005.jpg")


def test_pngenc_snapshot_stops_after_one_image(tmp_path):
    p = parse_launch(f"videotestsrc num-buffers=20 ! video/x-raw,width=64,height=48 ! pngenc snapshot=true ! "
                     f"multifilesink location={tmp_path}/shot_%02d.png")
    p.run(timeout=30)
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == ["shot_00.png"]
    img = cv2.imread(str(files[0]))
    assert img.shape == (48, 64, 3)
    assert img[2, 2].tolist() == [192, 192, 192]  # SMPTE bars start with 75 % white


def test_location_errors_are_clear(tmp_path):
    with pytest.raises(PropertyError, match="snap0:location.*2 patterns"):
        make_element("multifilesink", "snap0", location="a_%d_%d.jpg")
    with pytest.raises(PipelineError, match=r'snap1: cannot write ".*missing/x_%d.jpg": folder ".*missing" does not exist'):
        run_through([make_element("multifilesink", "snap1", location=str(tmp_path / "missing/x_%d.jpg"))],
                    [raw(np.zeros((1, 4, 4, 3), np.uint8))])
    with pytest.raises(PipelineError, match="snap2: raw video needs an image file extension"):
        run_through([make_element("multifilesink", "snap2", location=str(tmp_path / "x_%d.bin"))],
                    [raw(np.zeros((1, 4, 4, 3), np.uint8))])
    assert format_location("a_%04d.jpg", 7) == "a_0007.jpg" and format_location("same.jpg", 7) == "same.jpg"


def test_encode_image_formats():
    frame = np.zeros((10, 10, 4), np.uint8)
    frame[..., 2] = 255  # red in BGRA
    png = encode_image(frame, "BGRA", ".png")
    assert cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)[0, 0].tolist() == [0, 0, 255]
    gray = encode_image(np.full((5, 5), 77, np.uint8), "GRAY8", ".bmp")
    assert cv2.imdecode(np.frombuffer(gray, np.uint8), cv2.IMREAD_UNCHANGED)[0, 0] == 77
    with pytest.raises(Exception, match="cannot encode images of type '.gif'"):
        encode_image(frame, "BGRA", ".gif")
