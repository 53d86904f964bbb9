"""nvmultistreamtiler: tile placement by source id, boxes moved into tile coordinates, show-source, and the OSD
drawing on the mosaic."""

from __future__ import annotations

import numpy as np
import pytest

import vistream.elements.osd  # noqa: F401
import vistream.elements.tiler  # noqa: F401  (registers nvmultistreamtiler)
from tests.elements.element_helpers import run_through
from vistream import Buffer, Caps, PipelineError, make_element, parse_launch
from vistream.elements.tiler import Tiler
from vistream.meta import BatchMeta, ColorParams, DisplayMeta, FrameMeta, LineParams, make_object

COLORS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)]


def make_batch(source_ids, w=320, h=180, fmt="RGB"):
    """One solid-colour frame per source, in batch order; each frame has one box at (40, 20, 80, 60)."""
    frames = np.stack([np.full((h, w, 3), COLORS[s], np.uint8) for s in source_ids])
    metas = []
    for i, s in enumerate(source_ids):
        fm = FrameMeta(source_id=s, pad_index=s, batch_id=i, frame_num=7)
        fm.add_obj_meta(make_object(40, 20, 80, 60, label=f"src{s}"))
        fm.add_display_meta(DisplayMeta(line_params=[LineParams(0, 90, 320, 90)]))
        metas.append(fm)
    return Buffer(frames, pts=123, caps=Caps("video/x-raw", format=fmt, width=w, height=h),
                  batch_meta=BatchMeta(len(metas), metas))


def test_tiles_are_placed_by_source_id_and_boxes_move_into_them():
    tiler = make_element("nvmultistreamtiler", rows=2, columns=2, width=640, height=360)
    out = run_through([tiler], [make_batch([2, 0, 3, 1])])  # batch order differs from source order
    buf = out[0]
    f = buf.data[0]
    assert buf.data.shape == (1, 360, 640, 3) and buf.pts == 123
    assert (buf.caps["width"], buf.caps["height"]) == (640, 360)
    # tile (row, col) of source s = (s // 2, s % 2), each 320x180
    for s in range(4):
        y, x = (s // 2) * 180, (s % 2) * 320
        assert np.all(f[y:y + 180, x:x + 320] == COLORS[s]), s
    metas = buf.batch_meta.frame_meta_list
    assert [m.source_id for m in metas] == [0, 1, 2, 3] and {m.batch_id for m in metas} == {0}
    assert all(m.frame_num == 7 for m in metas)
    for m in metas:
        r = m.obj_meta_list[0].rect_params
        x, y = (m.source_id % 2) * 320, (m.source_id // 2) * 180
        assert (r.left, r.top, r.width, r.height) == (x + 40, y + 20, 80, 60)
        line = m.display_meta_list[0].line_params[0]
        assert (line.x1, line.y1, line.x2, line.y2) == (x, y + 90, x + 320, y + 90)


def test_frames_are_scaled_into_the_tiles():
    tiler = make_element("nvmultistreamtiler", rows=1, columns=2, width=320, height=90)
    out = run_through([tiler], [make_batch([0, 1])])
    r = out[0].batch_meta.frame_meta_list[1].obj_meta_list[0].rect_params
    assert (r.left, r.top, r.width, r.height) == (160 + 20, 10, 40, 30)  # half size in the right tile


def test_show_source_shows_one_source_full_size():
    tiler = make_element("nvmultistreamtiler", rows=2, columns=2, width=640, height=360, show_source=1)
    out = run_through([tiler], [make_batch([0, 1, 2])])
    f = out[0].data[0]
    assert np.all(f == COLORS[1])
    metas = out[0].batch_meta.frame_meta_list
    assert [m.source_id for m in metas] == [1]
    r = metas[0].obj_meta_list[0].rect_params
    assert (r.left, r.top, r.width, r.height) == (80, 40, 160, 120)  # 320x180 -> 640x360: doubled


def test_sources_beyond_the_grid_are_dropped_and_absent_tiles_keep_their_last_picture():
    tiler = make_element("nvmultistreamtiler", rows=1, columns=2, width=640, height=180)
    out = run_through([tiler], [make_batch([0, 1, 4]), make_batch([1])])
    first, second = out[0], out[1]
    assert [m.source_id for m in first.batch_meta.frame_meta_list] == [0, 1]
    assert np.all(second.data[0][:, :320] == COLORS[0])  # source 0 missing from batch 2: last picture kept
    assert [m.source_id for m in second.batch_meta.frame_meta_list] == [1]
    assert first.data[0] is not second.data[0]


def test_osd_after_the_tiler_draws_each_box_in_its_tile():
    tiler = make_element("nvmultistreamtiler", rows=2, columns=2, width=640, height=360)
    frames = make_batch([0, 1, 2, 3], fmt="RGB")
    for fm in frames.batch_meta.frame_meta_list:
        fm.display_meta_list.clear()
        o = fm.obj_meta_list[0]
        o.rect_params.border_color = ColorParams(1, 1, 1, 1)
        o.rect_params.border_width = 2
        o.text_params.display_text = ""
    out = run_through([tiler, make_element("nvdsosd")], [frames])
    f = out[0].data[0]
    for s in range(4):
        x, y = (s % 2) * 320, (s // 2) * 180
        assert f[y + 50, x + 40].tolist() == [255, 255, 255]  # left edge of the box
        assert f[y + 50, x + 60].tolist() == list(COLORS[s])  # inside the box: the tile's colour
    assert int(np.all(f == 255, axis=2).sum()) == 4 * (80 * 60 - 76 * 56)


def test_tiler_library_with_gray_frames_and_bad_layouts():
    frames = np.stack([np.full((10, 20), v, np.uint8) for v in (10, 200)])
    out, meta = Tiler(2, 1, 20, 20).composite(frames, "GRAY8", None)
    assert out.shape == (20, 20) and out[:10].max() == 10 and out[10:].min() == 200
    assert meta.frame_meta_list == []
    with pytest.raises(ValueError, match="cannot hold"):
        Tiler(4, 4, 2, 2)


def test_non_raw_input_is_a_clear_error():
    buf = Buffer(b"\xff\xd8", caps=Caps("image/jpeg"))
    with pytest.raises(PipelineError, match="tiler9: nvmultistreamtiler composites raw video, got image/jpeg"):
        run_through([make_element("nvmultistreamtiler", "tiler9")], [buf])


def test_two_real_streams_through_the_muxer_and_tiler(traffic_clip, people_clip):
    p = parse_launch(
        "nvstreammux name=m batch-size=2 width=640 height=360 ! "
        "nvmultistreamtiler rows=1 columns=2 width=1280 height=360 ! nvdsosd ! appsink name=out "
        f"filesrc location={traffic_clip} ! qtdemux ! h264parse ! nvv4l2decoder ! m.sink_0 "
        f"filesrc location={people_clip} ! qtdemux ! h264parse ! nvv4l2decoder ! m.sink_1")
    p.run(timeout=120)
    bufs = []
    while (s := p["out"].pull_sample(timeout=0)) is not None:
        bufs.append(s.get_buffer())
    assert len(bufs) == 48
    assert all(b.data.shape == (1, 360, 1280, 3) for b in bufs)
    assert sorted(m.source_id for m in bufs[10].batch_meta.frame_meta_list) == [0, 1]
    assert all(m.batch_id == 0 for b in bufs for m in b.batch_meta.frame_meta_list)
