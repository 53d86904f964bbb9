"""nvdsosd: box borders, background blending, labels, masks, display meta and the clock, in the frame's own
channel order, on synthetic and real frames."""

from __future__ import annotations

import av
import numpy as np
import pytest

import vistream.elements.osd  # noqa: F401  (registers nvdsosd)
from tests.elements.element_helpers import run_through as _run_through
from vistream import Buffer, Caps, PipelineError, make_element
from vistream.elements.draw import Painter, text_size
from vistream.elements.osd import OsdRenderer, color_from_uint
from vistream.elements.video import convert_color
from vistream.meta import (
    ArrowParams,
    BatchMeta,
    CircleParams,
    ColorParams,
    DisplayMeta,
    FontParams,
    FrameMeta,
    LineParams,
    RectParams,
    TextParams,
    make_object,
)

RED, GREEN, BLUE = ColorParams(1, 0, 0, 1), ColorParams(0, 1, 0, 1), ColorParams(0, 0, 1, 1)


def run_through(element, buffers, caps=None):
    """appsrc ! element [! capsfilter] ! appsink; returns the buffers that came out."""
    return _run_through([element], buffers, caps)


def batch_buffer(frames: np.ndarray, fmt: str, metas: list[FrameMeta]) -> Buffer:
    h, w = frames.shape[1:3] if fmt not in ("NV12", "I420") else (frames.shape[1] * 2 // 3, frames.shape[2])
    return Buffer(frames, pts=0, caps=Caps("video/x-raw", format=fmt, width=w, height=h),
                  batch_meta=BatchMeta(len(metas), metas))


def one_box_meta(left=40, top=30, width=60, height=50, border=4, color=RED, label="") -> FrameMeta:
    fm = FrameMeta(batch_id=0)
    obj = make_object(left, top, width, height, label=label, border_color=color)
    obj.rect_params.border_width = border
    fm.add_obj_meta(obj)
    return fm


@pytest.mark.parametrize("fmt,red_pixel", [
    ("RGB", [255, 0, 0]), ("BGR", [0, 0, 255]), ("RGBA", [255, 0, 0, 255]), ("BGRx", [0, 0, 255, 255]),
    ("BGRA", [0, 0, 255, 255]), ("GRAY8", [76]),
])
def test_border_is_drawn_inside_the_box_in_the_frames_channel_order(fmt, red_pixel):
    channels = 1 if fmt == "GRAY8" else len(fmt)
    frames = np.full((1, 120, 160, channels), 50, np.uint8)
    n = OsdRenderer().draw_batch(frames, fmt, BatchMeta(1, [one_box_meta()]))
    f = frames[0]
    assert n == 1
    # border pixels: outermost rows/columns of the box, 4 px wide
    for y, x in [(30, 70), (33, 70), (79, 70), (76, 70), (55, 40), (55, 43), (55, 99), (55, 96)]:
        assert f[y, x].tolist() == red_pixel, (y, x)
    # just outside the box and just inside the border: untouched
    for y, x in [(29, 70), (80, 70), (55, 39), (55, 100), (34, 70), (55, 44), (55, 95), (55, 70)]:
        assert f[y, x].tolist() == [50] * channels, (y, x)
    # exactly the border ring changed: 60x50 box minus its 52x42 interior
    assert int((f != 50).any(axis=2).sum()) == 60 * 50 - 52 * 42


def test_background_colour_is_alpha_blended_only_inside_the_box():
    frames = np.full((1, 100, 100, 3), 100, np.uint8)
    fm = one_box_meta(20, 20, 40, 30, border=0)
    rp = fm.obj_meta_list[0].rect_params
    rp.has_bg_color, rp.bg_color = 1, ColorParams(0.0, 0.0, 1.0, 0.5)
    OsdRenderer().draw_batch(frames, "BGR", BatchMeta(1, [fm]))
    f = frames[0].astype(int)
    inside = f[20:50, 20:60]
    # blue at 50 %: B = 100*0.5 + 255*0.5 = 177.5 -> 178, G = R = 50; stored B, G, R
    assert np.all(inside[..., 0] == 178) and np.all(inside[..., 1:] == 50)
    outside = f.copy()
    outside[20:50, 20:60] = 100
    assert np.all(outside == 100)


def test_transparent_border_draws_nothing_and_half_alpha_blends():
    frames = np.zeros((1, 60, 60, 3), np.uint8)
    OsdRenderer().draw_batch(frames, "RGB", BatchMeta(1, [one_box_meta(10, 10, 20, 20, 2, ColorParams(1, 1, 1, 0))]))
    assert frames.sum() == 0
    OsdRenderer().draw_batch(frames, "RGB", BatchMeta(1, [one_box_meta(10, 10, 20, 20, 2, ColorParams(1, 1, 1, 0.25))]))
    assert frames[0, 10, 15].tolist() == [64, 64, 64]  # 255 * 0.25 = 63.75 -> 64


def test_label_is_drawn_at_its_offset_with_its_background_and_font_colour():
    frames = np.zeros((1, 200, 300, 3), np.uint8)
    fm = FrameMeta(batch_id=0)
    tp = TextParams("person 0.91", 50, 60, FontParams("Sans", 14, ColorParams(1, 1, 0, 1)), 1, ColorParams(0, 0, 1, 1))
    dm = DisplayMeta(text_params=[tp])
    fm.add_display_meta(dm)
    OsdRenderer().draw_batch(frames, "RGB", BatchMeta(1, [fm]))
    tw, th = text_size("person 0.91", "Sans", 14)
    box = frames[0, 60:60 + th, 50:50 + tw]
    # top-left corner of the label box is background blue; yellow glyph pixels inside the box
    assert frames[0, 60, 50].tolist() == [0, 0, 255]
    yellow = np.all(box == [255, 255, 0], axis=2).sum()
    assert yellow > 40
    # nothing outside the label box
    outside = frames[0].copy()
    outside[60:60 + th, 50:50 + tw] = 0
    assert outside.sum() == 0
    assert 80 < tw < 140 and 14 < th < 30  # a 14 pt label: about 14 px capitals


def test_label_crossing_the_right_edge_is_moved_inside_the_frame():
    frames = np.zeros((1, 100, 120, 3), np.uint8)
    fm = FrameMeta(batch_id=0)
    fm.add_display_meta(DisplayMeta(text_params=[TextParams("far right", 110, -5, set_bg_clr=1,
                                                            text_bg_clr=ColorParams(0, 1, 0, 1))]))
    OsdRenderer().draw_batch(frames, "RGB", BatchMeta(1, [fm]))
    tw, th = text_size("far right")
    assert frames[0, 0, 119].tolist() == [0, 255, 0]  # clipped to x = 120 - tw, y = 0
    assert frames[0, 0, 120 - tw].tolist() == [0, 255, 0] and frames[0, 0, 119 - tw].tolist() == [0, 0, 0]


def test_display_meta_lines_arrows_circles_and_rects():
    frames = np.zeros((1, 200, 200, 3), np.uint8)
    fm = FrameMeta(batch_id=0)
    dm = DisplayMeta()
    dm.line_params.append(LineParams(10, 20, 190, 20, 3, RED))
    dm.arrow_params.append(ArrowParams(20, 100, 120, 100, 2, 1, GREEN))
    dm.circle_params.append(CircleParams(150, 150, 20, BLUE, 1, ColorParams(1, 1, 1, 1)))
    dm.rect_params.append(RectParams(10, 140, 30, 30, 2, RED, 1, ColorParams(0, 1, 0, 1)))
    fm.add_display_meta(dm)
    n = OsdRenderer().draw_batch(frames, "RGB", BatchMeta(1, [fm]))
    f = frames[0]
    assert n == 4
    assert f[20, 100].tolist() == [255, 0, 0] and f[19, 100].tolist() == [255, 0, 0] and f[24, 100].sum() == 0
    assert f[100, 60].tolist() == [0, 255, 0]
    # the arrow head at (120, 100): green pixels spread above and below the shaft near the tip
    head = np.all(f[85:116, 100:121] == [0, 255, 0], axis=2)
    assert head[:10].any() and head[-10:].any() and not head[:, -1][:10].any()
    assert f[150, 130].tolist() == [0, 0, 255] and f[150, 150].tolist() == [255, 255, 255]  # outline, white fill
    assert f[140, 25].tolist() == [255, 0, 0] and f[155, 25].tolist() == [0, 255, 0]  # border, green fill


def test_instance_mask_is_blended_where_above_threshold():
    frames = np.zeros((1, 100, 100, 3), np.uint8)
    fm = one_box_meta(20, 20, 40, 40, border=0, color=ColorParams(0, 1, 0, 1))
    mask = np.zeros((10, 10), np.float32)
    mask[:, :5] = 0.9  # left half of the box
    obj = fm.obj_meta_list[0]
    obj.mask_params.data, obj.mask_params.threshold = mask, 0.5
    obj.text_params.display_text = ""
    OsdRenderer().draw_batch(frames, "RGB", BatchMeta(1, [fm]))
    f = frames[0]
    assert f[40, 25].tolist() == [0, 128, 0]  # 255 * 0.5 = 127.5 -> 128
    assert f[40, 50].sum() == 0
    assert int((f[..., 1] > 0).sum()) == pytest.approx(20 * 40, abs=40)
    frames[:] = 0
    OsdRenderer(display_mask=False).draw_batch(frames, "RGB", BatchMeta(1, [fm]))
    assert frames.sum() == 0


def test_display_switches_turn_boxes_and_labels_off():
    fm = one_box_meta(label="car")
    frames = np.zeros((1, 120, 160, 3), np.uint8)
    OsdRenderer(display_text=False).draw_batch(frames, "RGB", BatchMeta(1, [fm]))
    assert int(np.any(frames[0] != 0, axis=2).sum()) == 60 * 50 - 52 * 42  # the box only
    fm.add_display_meta(DisplayMeta(text_params=[TextParams("note", 100, 100)]))
    frames[:] = 0
    OsdRenderer(display_text=False).draw_batch(frames, "RGB", BatchMeta(1, [fm]))
    assert not frames[0, 100:, 100:].any()  # display-meta text is a label too
    frames[:] = 0
    OsdRenderer(display_bbox=False).draw_batch(frames, "RGB", BatchMeta(1, [fm]))
    assert frames[0, 100:, 100:].any()
    assert frames[0, 55, 40].sum() == 0 and frames[0, 15:30, 40:70].any()  # the label only, above the box


def test_planar_nv12_frames_are_drawn_through_rgb():
    rgb = np.full((64, 64, 3), 128, np.uint8)
    nv12 = convert_color(rgb, "RGB", "NV12")
    frames = nv12[None].copy()
    OsdRenderer().draw_batch(frames, "NV12", BatchMeta(1, [one_box_meta(8, 8, 40, 40, 6, RED)]))
    back = convert_color(frames[0], "NV12", "RGB")
    r, g, b = back[10, 28].astype(int)
    assert r > 200 and g < 60 and b < 60
    assert np.abs(back[28, 28].astype(int) - 128).max() <= 3


def test_clock_colour_and_position():
    assert color_from_uint(0xFF0000FF) == ColorParams(1.0, 0.0, 0.0, 1.0)
    osd = make_element("nvdsosd", display_clock=True, x_clock_offset=10, y_clock_offset=20, clock_font_size=16,
                       clock_color=0x00FF00FF)
    frame = np.zeros((1, 120, 320, 3), np.uint8)
    out = run_through(osd, [Buffer(frame, pts=0, caps=Caps("video/x-raw", format="RGB", width=320, height=120))])
    f = out[0].data[0]
    green = np.all(f == [0, 255, 0], axis=2)
    ys, xs = np.nonzero(green)
    assert len(ys) > 50  # "2026-11-26 23:59:59" in green
    assert ys.min() >= 20 and xs.min() >= 10 and ys.max() < 20 + text_size("0000-00-00 00:00:00", "Serif", 16)[1]


def test_osd_element_draws_real_frames_of_a_batch_by_batch_id(traffic_clip):
    with av.open(str(traffic_clip)) as c:
        frames = np.stack([f.to_ndarray(format="bgr24") for _, f in zip(range(2), c.decode(video=0), strict=False)])
    original = frames.copy()
    metas = [FrameMeta(source_id=0, batch_id=1), FrameMeta(source_id=1, batch_id=0)]
    metas[0].add_obj_meta(make_object(100, 100, 80, 60, label="car", border_color=GREEN))
    metas[1].add_obj_meta(make_object(300, 200, 50, 50, label="truck", border_color=BLUE))
    frames.flags.writeable = False  # the OSD must copy rather than fail
    out = run_through(make_element("nvdsosd"), [batch_buffer(frames, "BGR", metas)])
    got = out[0].data
    assert got[1, 130, 100].tolist() == [0, 255, 0]  # green box on batch frame 1, stored BGR
    assert got[0, 225, 300].tolist() == [255, 0, 0]  # blue box on batch frame 0, stored BGR
    assert np.array_equal(got[0, 130, 100], original[0, 130, 100])  # frame 0 has no box there
    assert np.array_equal(original, frames)  # the read-only input was not modified


def test_bad_batch_id_is_a_clear_element_error():
    fm = FrameMeta(batch_id=3)
    frames = np.zeros((1, 10, 10, 3), np.uint8)
    with pytest.raises(PipelineError, match="nvdsosd0.*batch_id 3"):
        run_through(make_element("nvdsosd", "nvdsosd0"), [batch_buffer(frames, "RGB", [fm])])


def test_painter_rejects_planar_frames():
    with pytest.raises(ValueError, match="NV12"):
        Painter(np.zeros((6, 4), np.uint8), "NV12")


def test_non_finite_boxes_are_skipped():
    frames = np.zeros((1, 50, 50, 3), np.uint8)
    fm = one_box_meta(float("nan"), 10, 20, 20)
    fm.obj_meta_list[0].text_params.display_text = ""
    OsdRenderer().draw_batch(frames, "RGB", BatchMeta(1, [fm]))
    assert frames.sum() == 0
