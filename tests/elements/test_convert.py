"""nvvideoconvert: formats and sizes from a downstream caps filter, crops, the eight flip methods, and object
metadata moved along with the pixels."""

from __future__ import annotations

import av
import numpy as np
import pytest

import vistream.elements.convert  # noqa: F401  (registers nvvideoconvert)
import vistream.elements.osd  # noqa: F401
from tests.elements.element_helpers import run_through
from vistream import Buffer, Caps, PipelineError, PropertyError, make_element, parse_launch
from vistream.elements.convert import VideoConverter, flip_frame, parse_crop
from vistream.elements.video import convert_color
from vistream.meta import (
    BatchMeta,
    CircleParams,
    ColorParams,
    DisplayMeta,
    FrameMeta,
    LineParams,
    make_object,
)


@pytest.fixture(scope="module")
def real_frame():
    from pathlib import Path

    clip = Path(__file__).resolve().parents[1] / "data" / "traffic_48.mp4"
    with av.open(str(clip)) as c:
        return next(c.decode(video=0)).to_ndarray(format="rgb24")  # 360 x 640


def batch(frame: np.ndarray, metas=None, fmt="RGB") -> Buffer:
    h, w = frame.shape[:2]
    return Buffer(frame[None].copy(), pts=0, caps=Caps("video/x-raw", format=fmt, width=w, height=h),
                  batch_meta=BatchMeta(1, metas) if metas is not None else None)


def test_format_and_size_come_from_the_caps_filter(real_frame):
    out = run_through([make_element("nvvideoconvert")], [batch(real_frame)],
                      "video/x-raw(memory:NVMM),format=BGRA,width=320,height=180")
    buf = out[0]
    assert buf.data.shape == (1, 180, 320, 4)
    assert (buf.caps["format"], buf.caps["width"], buf.caps["height"]) == ("BGRA", 320, 180)
    assert buf.caps.is_nvmm
    import cv2

    expected = cv2.cvtColor(cv2.resize(real_frame, (320, 180), interpolation=cv2.INTER_LINEAR), cv2.COLOR_RGB2BGRA)
    assert np.array_equal(buf.data[0], expected)


def test_only_width_keeps_the_aspect_ratio(real_frame):
    out = run_through([make_element("videoscale")], [batch(real_frame)], "video/x-raw,width=320")
    assert out[0].data.shape == (1, 180, 320, 3)


def test_scaling_moves_boxes_labels_and_display_meta_and_keeps_the_original(real_frame):
    fm = FrameMeta(batch_id=0)
    obj = make_object(100, 50, 200, 100, label="car")
    fm.add_obj_meta(obj)
    dm = DisplayMeta(line_params=[LineParams(0, 100, 640, 100)], circle_params=[CircleParams(320, 180, 40)])
    fm.add_display_meta(dm)
    src_meta = [fm]
    out = run_through([make_element("nvvideoconvert")], [batch(real_frame, src_meta)], "video/x-raw,width=320,height=180")
    new = out[0].batch_meta.frame_meta_list[0]
    r = new.obj_meta_list[0].rect_params
    assert (r.left, r.top, r.width, r.height) == (50.0, 25.0, 100.0, 50.0)
    assert (new.obj_meta_list[0].text_params.x_offset, new.obj_meta_list[0].text_params.y_offset) == (50, 20)
    line, circle = new.display_meta_list[0].line_params[0], new.display_meta_list[0].circle_params[0]
    assert (line.x1, line.y1, line.x2, line.y2) == (0, 50, 320, 50)
    assert (circle.xc, circle.yc, circle.radius) == (160, 90, 20)
    # the input meta is untouched (a tee branch before the converter still sees full-size boxes)
    assert (obj.rect_params.left, obj.rect_params.width) == (100.0, 200.0)
    assert new.obj_meta_list[0] is not obj and new.obj_meta_list[0].obj_label == "car"


def test_osd_after_a_downscale_draws_around_the_object():
    frame = np.zeros((400, 600, 3), np.uint8)
    frame[100:200, 200:360] = 255  # the "object"
    fm = FrameMeta(batch_id=0)
    o = make_object(200, 100, 160, 100, border_color=ColorParams(1, 0, 0, 1))
    o.rect_params.border_width = 2
    o.text_params.display_text = ""
    fm.add_obj_meta(o)
    out = run_through([make_element("nvvideoconvert"), make_element("nvdsosd")], [batch(frame, [fm])])
    assert out[0].data.shape == (1, 400, 600, 3)  # no caps filter: pass-through
    out = run_through([make_element("nvvideoconvert"), make_element("capsfilter", caps="video/x-raw,width=300,height=200"),
                       make_element("nvdsosd")], [batch(frame, [fm])])
    f = out[0].data[0]
    # the white object is now at x 100..180, y 50..100; the red border sits on its edges
    assert f[75, 100].tolist() == [255, 0, 0] and f[75, 179].tolist() == [255, 0, 0]
    assert f[50, 140].tolist() == [255, 0, 0] and f[99, 140].tolist() == [255, 0, 0]
    assert f[75, 140].tolist() == [255, 255, 255] and f[75, 98].tolist() == [0, 0, 0]


@pytest.mark.parametrize("method,reference", [
    (0, lambda a: a), (1, lambda a: np.rot90(a, 1)), (2, lambda a: np.rot90(a, 2)), (3, lambda a: np.rot90(a, -1)),
    (4, lambda a: a[:, ::-1]), (5, lambda a: np.rot90(a, 2).swapaxes(0, 1)), (6, lambda a: a[::-1]),
    (7, lambda a: a.swapaxes(0, 1)),
])
def test_flip_methods_match_numpy_and_move_the_box(method, reference):
    frame = np.zeros((30, 50, 3), np.uint8)
    frame[5:12, 8:20] = (255, 255, 255)  # an asymmetric white block = the object
    frame[..., 1] = np.arange(50, dtype=np.uint8)[None, :]  # a gradient makes any mistake visible
    fm = FrameMeta(batch_id=0)
    fm.add_obj_meta(make_object(8, 5, 12, 7))
    conv = make_element("nvvideoconvert", flip_method=method)
    out = run_through([conv], [batch(frame, [fm])])
    got = out[0].data[0]
    assert np.array_equal(got, reference(frame))
    ys, xs = np.nonzero(got[..., 2] == 255)
    r = out[0].batch_meta.frame_meta_list[0].obj_meta_list[0].rect_params
    assert (r.left, r.top, r.left + r.width, r.top + r.height) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    assert (out[0].caps["width"], out[0].caps["height"]) == (got.shape[1], got.shape[0])


def test_src_crop_and_dest_crop(real_frame):
    fm = FrameMeta(batch_id=0)
    fm.add_obj_meta(make_object(200, 100, 40, 20))
    fm.add_obj_meta(make_object(10, 10, 20, 20))  # outside the crop
    conv = make_element("nvvideoconvert", src_crop="160:90:320:180")
    out = run_through([conv], [batch(real_frame, [fm])])
    assert np.array_equal(out[0].data[0], real_frame[90:270, 160:480])
    objs = out[0].batch_meta.frame_meta_list[0].obj_meta_list
    assert [(o.rect_params.left, o.rect_params.top, o.rect_params.width, o.rect_params.height) for o in objs] == \
        [(40.0, 10.0, 40.0, 20.0), (0.0, 0.0, 0.0, 0.0)]  # cropped-away objects stay, with zero size

    conv = make_element("nvvideoconvert", dest_crop="100:50:320:180")
    out = run_through([conv], [batch(real_frame, [fm])], "video/x-raw,width=640,height=360")
    f = out[0].data[0]
    assert f[:50].sum() == 0 and f[:, :100].sum() == 0 and f[230:].sum() == 0 and f[:, 420:].sum() == 0
    import cv2

    assert np.array_equal(f[50:230, 100:420], cv2.resize(real_frame, (320, 180)))
    r = out[0].batch_meta.frame_meta_list[0].obj_meta_list[0].rect_params
    assert (r.left, r.top, r.width, r.height) == (200.0, 100.0, 20.0, 10.0)


def test_passthrough_keeps_the_same_buffer(real_frame):
    buf = batch(real_frame)
    out = run_through([make_element("nvvideoconvert")], [buf], "video/x-raw,format=RGB,width=640,height=360")
    assert out[0] is buf


def test_format_only_conversion_keeps_the_same_metadata_objects(real_frame):
    fm = FrameMeta(batch_id=0)
    fm.add_obj_meta(make_object(1, 2, 3, 4))
    buf = batch(real_frame, [fm])
    out = run_through([make_element("nvvideoconvert")], [buf], "video/x-raw(memory:NVMM),format=RGBA")
    assert out[0] is not buf and out[0].data.shape == (1, 360, 640, 4)
    assert out[0].batch_meta is buf.batch_meta  # probes upstream may keep references to these objects


def test_nv12_output_and_planar_input(real_frame):
    out = run_through([make_element("nvvideoconvert")], [batch(real_frame)], "video/x-raw,format=NV12")
    nv12 = out[0].data[0]
    assert nv12.shape == (540, 640) and out[0].caps["format"] == "NV12"
    back = convert_color(nv12, "NV12", "RGB").astype(int)
    assert np.abs(back - real_frame.astype(int)).mean() < 6  # chroma subsampling only
    out = run_through([make_element("nvvideoconvert")], [batch(nv12, fmt="NV12")],
                      "video/x-raw,format=RGB,width=320,height=180")
    assert out[0].data.shape == (1, 180, 320, 3)


def test_converter_library_on_mixed_size_batches():
    conv = VideoConverter("GRAY8", 64, 48)
    frames = [np.full((100, 200, 3), 255, np.uint8), np.zeros((50, 80, 3), np.uint8)]
    data, meta = conv.convert(frames, "RGB", None)
    assert data.shape == (2, 48, 64) and data[0].min() == 255 and data[1].max() == 0 and meta is None
    data, _ = VideoConverter(flip_method=1).convert(frames, "RGB")
    assert isinstance(data, list) and [d.shape for d in data] == [(200, 100, 3), (80, 50, 3)]
    assert np.array_equal(flip_frame(np.arange(6).reshape(2, 3), 7), np.arange(6).reshape(2, 3).T)


def test_bad_crop_strings_name_the_element_and_property():
    with pytest.raises(PropertyError, match="conv0:src-crop.*left:top:width:height"):
        make_element("nvvideoconvert", "conv0", src_crop="10:20:30")
    with pytest.raises(PropertyError, match="dest-crop"):
        parse_crop("a:b:c:d", None, "dest-crop")
    assert parse_crop("0:0:0:0") is None and parse_crop("1:2:3:4") == (1, 2, 3, 4)


def test_crop_outside_the_frame_and_unknown_format_are_errors(real_frame):
    with pytest.raises(PipelineError, match="conv1.*src-crop 700:0:10:10 lies outside the 640x360 frame"):
        run_through([make_element("nvvideoconvert", "conv1", src_crop="700:0:10:10")], [batch(real_frame)])
    with pytest.raises(PipelineError, match="unsupported video format 'YUY2'"):
        run_through([make_element("nvvideoconvert")], [batch(real_frame)], "video/x-raw,format=YUY2")


def test_launch_line_with_aliases_and_flip(traffic_clip):
    p = parse_launch(f"filesrc location={traffic_clip} ! qtdemux ! h264parse ! nvv4l2decoder ! "
                     "nvvidconv flip-method=clockwise ! video/x-raw,format=BGR,width=180 ! appsink name=out")
    p.run(timeout=60)
    buf = p["out"].pull_sample(timeout=0).get_buffer()
    assert buf.data.shape == (1, 320, 180, 3) and buf.caps["format"] == "BGR"
