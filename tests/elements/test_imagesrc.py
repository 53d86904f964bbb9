"""multifilesrc / imagefilesrc: image sequences decoded to raw video with frame-rate timestamps; pngdec."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import vistream.elements.imagesrc  # noqa: F401  (registers multifilesrc, imagefilesrc, pngdec)
import vistream.elements.snapshot  # noqa: F401
from vistream import PipelineError, parse_launch

IMAGES = Path(__file__).resolve().parents[1] / "data" / "images"


def collect(p, name="out"):
    out = []
    while (s := p[name].pull_sample(timeout=0)) is not None:
        out.append(s.get_buffer())
    return out


@pytest.fixture
def png_sequence(tmp_path):
    """Five distinct 40x30 PNG frames img_0001.png .. img_0005.png (RGB content known)."""
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 256, (30, 40, 3), dtype=np.uint8) for _ in range(5)]
    for i, f in enumerate(frames, start=1):
        cv2.imwrite(str(tmp_path / f"img_{i:04d}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    return tmp_path, frames


def test_sequence_is_read_in_order_with_pts_from_the_caps_filter(png_sequence):
    folder, frames = png_sequence
    p = parse_launch(f"multifilesrc location={folder}/img_%04d.png start-index=1 ! "
                     "video/x-raw,framerate=10/1 ! appsink name=out")
    p.run(timeout=30)
    bufs = collect(p)
    assert len(bufs) == 5
    assert [b.pts for b in bufs] == [0, 100_000_000, 200_000_000, 300_000_000, 400_000_000]
    assert all(b.duration == 100_000_000 for b in bufs)
    for b, f in zip(bufs, frames, strict=True):
        assert np.array_equal(b.data[0], f)  # PNG: lossless, RGB order
    caps = bufs[0].caps
    assert (caps["format"], caps["width"], caps["height"], caps["framerate"]) == ("RGB", 40, 30, 10)
    assert bufs[2].extra["location"].endswith("img_0003.png")


def test_stop_index_loop_and_num_buffers(png_sequence):
    folder, frames = png_sequence
    p = parse_launch(f"multifilesrc location={folder}/img_%04d.png start-index=2 stop-index=3 loop=true "
                     "num-buffers=5 framerate=25/1 ! appsink name=out")
    p.run(timeout=30)
    bufs = collect(p)
    assert len(bufs) == 5
    expected = [frames[1], frames[2], frames[1], frames[2], frames[1]]
    assert all(np.array_equal(b.data[0], e) for b, e in zip(bufs, expected, strict=True))
    assert [b.pts for b in bufs] == [i * 40_000_000 for i in range(5)]


def test_output_format_follows_the_caps_filter(png_sequence):
    folder, frames = png_sequence
    p = parse_launch(f"multifilesrc location={folder}/img_%04d.png start-index=1 stop-index=1 ! "
                     "video/x-raw,format=BGR ! appsink name=out")
    p.run(timeout=30)
    (buf,) = collect(p)
    assert buf.caps["format"] == "BGR" and np.array_equal(buf.data[0], frames[0][..., ::-1])


def test_single_jpeg_file_with_imagefilesrc():
    p = parse_launch(f"imagefilesrc location={IMAGES}/parrot.jpg ! appsink name=out")
    p.run(timeout=30)
    (buf,) = collect(p)
    ref = cv2.cvtColor(cv2.imread(str(IMAGES / "parrot.jpg")), cv2.COLOR_BGR2RGB)
    assert np.array_equal(buf.data[0], ref) and buf.pts == 0
    p = parse_launch(f"imagefilesrc location={IMAGES}/grace_hopper.bmp loop=true num-buffers=3 ! appsink name=out")
    p.run(timeout=30)
    assert len(collect(p)) == 3


def test_missing_first_file_names_the_location_and_suggests_the_start_index(png_sequence):
    folder, _ = png_sequence
    p = parse_launch(f"multifilesrc name=seq location={folder}/img_%04d.png ! appsink name=out")
    with pytest.raises(PipelineError, match=r'seq: could not open ".*img_0000.png" \(location ".*img_%04d.png"\): '
                                            r"no such file \(but .*img_0001.png exists: set start-index=1\)"):
        p.run(timeout=30)


def test_corrupt_file_is_an_error_naming_it(tmp_path):
    (tmp_path / "bad_0.jpg").write_bytes(b"not a jpeg at all")
    p = parse_launch(f"multifilesrc name=seq location={tmp_path}/bad_%d.jpg ! appsink name=out")
    with pytest.raises(PipelineError, match=r'seq: ".*bad_0.jpg": not a decodable image \(17 bytes\)'):
        p.run(timeout=30)


def test_snapshots_read_back_through_pngdec(tmp_path):
    p = parse_launch("videotestsrc num-buffers=4 pattern=red ! video/x-raw,width=32,height=16 ! pngenc ! "
                     "pngdec ! video/x-raw,format=BGR ! appsink name=out")
    p.run(timeout=30)
    bufs = collect(p)
    assert len(bufs) == 4
    assert bufs[0].data.shape == (1, 16, 32, 3) and bufs[0].data[0, 5, 5].tolist() == [0, 0, 255]
    # write a sequence with multifilesink, read it back with multifilesrc ! pngdec (raw passes through)
    p = parse_launch(f"videotestsrc num-buffers=3 ! video/x-raw,width=32,height=16 ! "
                     f"multifilesink location={tmp_path}/s_%03d.png")
    p.run(timeout=30)
    p = parse_launch(f"multifilesrc location={tmp_path}/s_%03d.png ! pngdec ! appsink name=out")
    p.run(timeout=30)
    assert [b.data.shape for b in collect(p)] == [(1, 16, 32, 3)] * 3


def test_planar_output_asked_by_the_caps_filter(png_sequence):
    folder, frames = png_sequence
    p = parse_launch(f"multifilesrc location={folder}/img_%04d.png start-index=1 stop-index=1 ! "
                     "video/x-raw,format=I420 ! appsink name=out")
    p.run(timeout=30)
    (buf,) = collect(p)
    assert buf.data.shape == (1, 45, 40) and (buf.caps["width"], buf.caps["height"]) == (40, 30)
    assert buf.caps["format"] == "I420"
