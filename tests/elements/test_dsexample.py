"""dsexample: frame health (brightness, contrast, sharpness), dominant object colours, object blurring, and the
custom-element sample."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import vistream.elements.dsexample  # noqa: F401  (registers dsexample)
from tests.elements.element_helpers import run_through
from vistream import Buffer, Caps, PipelineError, make_element, parse_launch
from vistream.elements.dsexample import COLOR_NAMES, FRAME_STATS_META, DsExample, color_histogram
from vistream.meta import BatchMeta, FrameMeta, make_object

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def road():
    with av.open(str(ROOT / "tests/data/traffic_48.mp4")) as c:
        return next(c.decode(video=0)).to_ndarray(format="rgb24")


def batch(frames, metas=None, fmt="RGB"):
    frames = np.asarray(frames)
    h, w = frames.shape[1:3]
    metas = metas if metas is not None else [FrameMeta(source_id=i, batch_id=i) for i in range(len(frames))]
    return Buffer(frames, pts=0, caps=Caps("video/x-raw", format=fmt, width=w, height=h),
                  batch_meta=BatchMeta(len(metas), metas))


def test_full_frame_reports_brightness_contrast_and_focus(road):
    blurred = cv2.GaussianBlur(road, (0, 0), 6)
    dark = (road // 6).astype(np.uint8)
    buf = batch(np.stack([road, blurred, dark]))
    out = run_through([make_element("dsexample", processing_width=320, processing_height=180)], [buf])
    metas = out[0].batch_meta.frame_meta_list
    labels = [[li.result_label for li in fm.obj_meta_list[0].classifier_meta_list[0].label_info_list] for fm in metas]
    assert labels == [["normal", "sharp"], ["normal", "blurry"], ["dark", "sharp"]]
    for fm, img in zip(metas, (road, blurred, dark), strict=True):
        obj = fm.obj_meta_list[0]
        assert (obj.rect_params.width, obj.rect_params.height, obj.unique_component_id) == (640, 360, 15)
        stats = fm.user_meta_of_type(FRAME_STATS_META)[0].user_meta_data
        gray = cv2.resize(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), (320, 180), interpolation=cv2.INTER_AREA)
        assert stats["brightness"] == pytest.approx(gray.mean(), abs=1e-3)
        assert stats["contrast"] == pytest.approx(gray.std(), abs=1e-3)
        lap_var = cv2.Laplacian(gray, cv2.CV_32F).var()
        assert stats["laplacian_var"] == pytest.approx(lap_var, rel=1e-4)
        assert stats["sharpness"] == pytest.approx(np.sqrt(lap_var) / gray.std(), rel=1e-4)
        assert obj.text_params.display_text.endswith(f"(brightness {stats['brightness']:.0f})")
    s0, s1 = (m.user_meta_of_type(FRAME_STATS_META)[0].user_meta_data["sharpness"] for m in metas[:2])
    assert s0 > 4 * s1  # the blur removes most of the high frequencies


def test_full_frame_brightness_classes_on_uniform_frames():
    core = DsExample(processing_width=16, processing_height=16)
    bm = BatchMeta(3, [FrameMeta(batch_id=i) for i in range(3)])
    frames = np.stack([np.full((20, 20, 3), v, np.uint8) for v in (10, 120, 240)])
    assert core.process(frames, "BGR", bm) == 3
    got = [fm.obj_meta_list[0].classifier_meta_list[0].label_info_list[0] for fm in bm.frame_meta_list]
    assert [li.result_label for li in got] == ["dark", "normal", "bright"]
    assert [li.result_class_id for li in got] == [0, 1, 2]
    assert [round(li.result_prob * 255) for li in got] == [10, 120, 240]


def test_objects_get_their_dominant_colour_as_classifier_meta():
    frame = np.full((120, 200, 3), 128, np.uint8)
    frame[10:50, 10:70] = (220, 30, 30)  # red car
    frame[60:110, 100:190] = (30, 60, 200)  # blue car
    frame[70:80, 110:120] = (255, 255, 255)  # a reflection: the majority still wins
    fm = FrameMeta(batch_id=0)
    fm.add_obj_meta(make_object(10, 10, 60, 40, label="car", component_id=1))
    fm.add_obj_meta(make_object(100, 60, 90, 50, label="car", component_id=1))
    fm.add_obj_meta(make_object(0, 0, 1, 1, label="tiny", component_id=1))  # too small to classify
    out = run_through([make_element("dsexample", full_frame=False, processing_width=64, processing_height=64,
                                    unique_id=7)], [batch([frame], [fm])])
    objs = out[0].batch_meta.frame_meta_list[0].obj_meta_list
    red, blue, tiny = (o.classifier_meta_list for o in objs)
    assert red[0].label_info_list[0].result_label == "red" and blue[0].label_info_list[0].result_label == "blue"
    assert red[0].unique_component_id == 7 and red[0].label_info_list[0].num_classes == len(COLOR_NAMES)
    assert red[0].label_info_list[0].result_prob == pytest.approx(1.0)
    assert blue[0].label_info_list[0].result_prob == pytest.approx(1 - 100 / 4500, abs=0.01)
    assert [o.text_params.display_text for o in objs] == ["car red", "car blue", "tiny"]
    assert tiny == []


def test_colour_rules_on_pure_colours():
    swatches = {"red": (200, 20, 20), "orange": (255, 140, 0), "yellow": (240, 230, 30), "green": (30, 180, 40),
                "cyan": (0, 200, 200), "blue": (20, 40, 200), "purple": (128, 0, 160), "pink": (255, 105, 180),
                "white": (250, 250, 250), "black": (10, 10, 10), "gray": (128, 128, 128)}
    for name, rgb in swatches.items():
        hist = color_histogram(np.full((4, 4, 3), rgb, np.uint8))
        assert COLOR_NAMES[int(hist.argmax())] == name and hist.max() == 16


def test_blur_objects_blurs_inside_the_boxes_only(road):
    fm = FrameMeta(batch_id=0)
    fm.add_obj_meta(make_object(100, 100, 200, 120, component_id=1))
    frames = road[None].copy()
    out = run_through([make_element("dsexample", full_frame=False, blur_objects=True)], [batch(frames, [fm])])
    got = out[0].data[0]
    inside_before, inside_after = road[100:220, 100:300], got[100:220, 100:300]
    lap = [cv2.Laplacian(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY), cv2.CV_32F).var() for x in (inside_before, inside_after)]
    assert lap[1] < lap[0] / 20
    mask = np.ones(road.shape[:2], bool)
    mask[100:220, 100:300] = False
    assert np.array_equal(got[mask], road[mask])


def test_without_batch_meta_the_error_names_the_muxer():
    buf = Buffer(np.zeros((1, 8, 8, 3), np.uint8), caps=Caps("video/x-raw", format="RGB", width=8, height=8))
    with pytest.raises(PipelineError, match="dsexample0: dsexample needs batched buffers.*nvstreammux"):
        run_through([make_element("dsexample", "dsexample0")], [buf])


def test_launch_line_through_the_muxer(traffic_clip):
    p = parse_launch(f"filesrc location={traffic_clip} ! qtdemux ! h264parse ! nvv4l2decoder ! m.sink_0 "
                     "nvstreammux name=m batch-size=1 width=640 height=360 ! dsexample unique-id=3 ! appsink name=out")
    p.run(timeout=60)
    n = 0
    while (s := p["out"].pull_sample(timeout=0)) is not None:
        fm = s.get_buffer().batch_meta.frame_meta_list[0]
        assert fm.obj_meta_list[-1].unique_component_id == 3
        assert fm.obj_meta_list[-1].classifier_meta_list[0].label_info_list[0].result_label == "normal"
        n += 1
    assert n == 48


@pytest.mark.slow
def test_the_custom_element_sample_runs(tmp_path, traffic_clip):
    spec = importlib.util.spec_from_file_location("dsexample_sample", ROOT / "samples/python/dsexample_element.py")
    sample = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sample)
    assert sample.main([str(traffic_clip), "--out", str(tmp_path), "--every", "12"]) == 0
    files = sorted(tmp_path.glob("frame_*.jpg"))
    assert [f.name for f in files] == [f"frame_{i:05d}.jpg" for i in range(4)]  # frames 0, 12, 24, 36
    img = cv2.imread(str(files[0]))
    assert img.shape == (360, 640, 3)
    # the counter's overlay: white text on a dark band at the top-left
    band = img[8:24, 8:200]
    assert (band > 200).all(axis=2).sum() > 100
