"""Built-in decoders on tensors built in the test with known boxes, run through the whole engine (fake backend):
decode -> cluster -> scale back to the frame."""

from __future__ import annotations

import numpy as np
import pytest

from vistream.infer import InferEngine
from vistream.infer.decoders import builtin_detector, detect_family
from vistream.infer.types import NetworkInfo

from .fakes import FakeBackend, write_config

BOX_NORM = 35.0


def detectnet_tensors(boxes, classes=4, net_w=960, net_h=544, stride=16, cov_value=0.9):
    """Coverage/bbox tensors in DetectNet_v2 layout for ``boxes`` = [(class, x1, y1, x2, y2)] (network px):
    the 3x3 cells around each box centre predict it."""
    gw, gh = net_w // stride, net_h // stride
    cov = np.zeros((classes, gh, gw), np.float32)
    bbox = np.zeros((classes * 4, gh, gw), np.float32)
    for c, x1, y1, x2, y2 in boxes:
        mx, my = int((x1 + x2) / 2 // stride), int((y1 + y2) / 2 // stride)
        for gy in range(my - 1, my + 2):
            for gx in range(mx - 1, mx + 2):
                cx, cy = (gx * stride + 0.5) / BOX_NORM, (gy * stride + 0.5) / BOX_NORM
                cov[c, gy, gx] = cov_value - 0.01 * abs(gx - mx) - 0.01 * abs(gy - my)
                bbox[4 * c:4 * c + 4, gy, gx] = [cx - x1 / BOX_NORM, cy - y1 / BOX_NORM,
                                                 x2 / BOX_NORM - cx, y2 / BOX_NORM - cy]
    return {"output_cov/Sigmoid": cov, "output_bbox/BiasAdd": bbox}


TRAFFICCAMNET_CFG = """
[property]
net-scale-factor=0.0039215697906911373
model-color-format=0
labelfile-path=labels.txt
num-detected-classes=4
network-type=0
cluster-mode={cluster}
gie-unique-id=1
[class-attrs-all]
pre-cluster-threshold=0.5
nms-iou-threshold=0.5
eps=0.2
group-threshold=1
minBoxes=3
"""


@pytest.mark.parametrize("cluster_mode", [0, 1, 2, 3])
def test_detectnet_v2_grid_decodes_known_boxes(tmp_path, cluster_mode):
    (tmp_path / "labels.txt").write_text("car\nbicycle\nperson\nroad_sign\n")
    cfg = write_config(tmp_path, TRAFFICCAMNET_CFG.format(cluster=cluster_mode))
    truth = [(0, 96.0, 64.0, 288.0, 192.0), (2, 600.0, 200.0, 660.0, 380.0)]
    be = FakeBackend((1, 3, 544, 960), detectnet_tensors(truth))
    eng = InferEngine(cfg, backend=be)
    assert eng.decoder_name == "detectnet_v2"
    frame = np.zeros((1088, 1920, 3), np.uint8)  # 2x the network size: boxes double
    (d,) = eng.infer_arrays([frame])
    assert d.class_id.tolist() == [0, 2]
    assert list(d.data["labels"]) == ["car", "person"]
    want = np.array([t[1:] for t in truth]) * 2
    assert np.abs(d.xyxy - want).max() <= 1e-3
    assert np.allclose(d.confidence, 0.9, atol=1e-6)


def test_detectnet_v2_threshold_and_filters(tmp_path):
    (tmp_path / "labels.txt").write_text("car\nbicycle\nperson\nroad_sign\n")
    body = TRAFFICCAMNET_CFG.format(cluster=2) + """
[class-attrs-2]
pre-cluster-threshold=0.95
"""
    cfg = write_config(tmp_path, body)
    truth = [(0, 96.0, 64.0, 288.0, 192.0), (2, 600.0, 200.0, 660.0, 380.0)]
    eng = InferEngine(cfg, backend=FakeBackend((1, 3, 544, 960), detectnet_tensors(truth)))
    (d,) = eng.infer_arrays([np.zeros((544, 960, 3), np.uint8)])
    assert d.class_id.tolist() == [0]  # the person's 0.9 is below its own class threshold
    eng2 = InferEngine(write_config(tmp_path, TRAFFICCAMNET_CFG.format(cluster=2) + "detected-min-w=200\n"),
                       backend=FakeBackend((1, 3, 544, 960), detectnet_tensors(truth)))
    (d2,) = eng2.infer_arrays([np.zeros((544, 960, 3), np.uint8)])
    assert d2.class_id.tolist() == [2] or d2.class_id.tolist() == []  # car is 192 wide -> dropped
    assert 0 not in d2.class_id.tolist()


YOLO_CFG = """
[property]
model-color-format=0
num-detected-classes=3
network-type=0
cluster-mode={cluster}
parse-bbox-func-name={func}
maintain-aspect-ratio=1
[class-attrs-all]
pre-cluster-threshold=0.25
nms-iou-threshold=0.45
"""
# class, score, cx, cy, w, h in network pixels (640x640)
YOLO_TRUTH = [(1, 0.9, 320.0, 200.0, 100.0, 60.0), (2, 0.8, 100.0, 100.0, 40.0, 80.0)]


def _yolo_rows(with_obj: bool):
    rows = []
    for c, s, cx, cy, w, h in YOLO_TRUTH:
        for dx in (0.0, 2.0):  # a near-duplicate that NMS must remove
            cls = np.zeros(3, np.float32)
            cls[c] = s if not with_obj else 1.0
            head = [cx + dx, cy, w, h] + ([s - dx * 0.01] if with_obj else [])
            if not with_obj:
                cls[c] = s - dx * 0.01
            rows.append(np.concatenate([head, cls]))
    rows.append(np.concatenate([[50, 50, 10, 10], [0.1] if with_obj else [], [0.2, 0.0, 0.0]]))  # below threshold
    return np.asarray(rows, np.float32)


def _check_yolo(d):
    # frame 1280x720 letterboxed into 640x640 at the top-left: scale 0.5
    assert d.class_id.tolist() == [1, 2]
    want = np.array([[c_x - w / 2, c_y - h / 2, c_x + w / 2, c_y + h / 2] for _, _, c_x, c_y, w, h in YOLO_TRUTH]) * 2
    assert np.abs(d.xyxy - want).max() < 1e-3
    assert np.allclose(d.confidence, [0.9, 0.8], atol=1e-6)


@pytest.mark.parametrize("func,layout", [("NvDsInferParseYoloV5", "v5"), ("yolov8", "v8"), ("yolov8", "v8T")])
def test_yolo_v5_v8_layouts(tmp_path, func, layout):
    rows = _yolo_rows(with_obj=layout == "v5")
    out = rows.T.copy() if layout == "v8" else rows
    eng = InferEngine(write_config(tmp_path, YOLO_CFG.format(cluster=2, func=func)),
                      backend=FakeBackend((1, 3, 640, 640), {"output0": out}))
    _check_yolo(eng.infer_arrays([np.zeros((720, 1280, 3), np.uint8)])[0])


@pytest.mark.parametrize("layout", ["rows6", "rows7", "efficientnms"])
def test_yolo_with_builtin_nms(tmp_path, layout):
    boxes = np.array([[c_x - w / 2, c_y - h / 2, c_x + w / 2, c_y + h / 2] for _, _, c_x, c_y, w, h in YOLO_TRUTH],
                     np.float32)
    scores = np.array([0.9, 0.8], np.float32)
    classes = np.array([1, 2], np.float32)
    if layout == "efficientnms":
        pad = np.zeros((100, 4), np.float32)
        pad[:2] = boxes
        outs = {"num_dets": np.array([2], np.int32), "det_boxes": pad,
                "det_scores": np.concatenate([scores, np.zeros(98, np.float32)]),
                "det_classes": np.concatenate([classes, np.zeros(98, np.float32)]).astype(np.int32)}
    else:
        rows = np.concatenate([boxes, scores[:, None], classes[:, None]], axis=1)
        rows = np.concatenate([rows, [[0, 0, 5, 5, 0.1, 0]]]).astype(np.float32)  # below threshold
        if layout == "rows7":
            rows = np.concatenate([np.zeros((len(rows), 1), np.float32), rows], axis=1)
        outs = {"output": rows}
    eng = InferEngine(write_config(tmp_path, YOLO_CFG.format(cluster=4, func="")),
                      backend=FakeBackend((1, 3, 640, 640), outs))
    assert eng.decoder_name == "yolo_nms"
    _check_yolo(eng.infer_arrays([np.zeros((720, 1280, 3), np.uint8)])[0])


def test_ssd_background_column_and_normalised_boxes(tmp_path):
    n = 50
    scores = np.zeros((n, 3), np.float32)
    scores[:, 0] = 1.0
    boxes = np.zeros((n, 4), np.float32)
    scores[7] = [0.05, 0.9, 0.05]
    boxes[7] = [0.1, 0.2, 0.3, 0.6]
    scores[9] = [0.1, 0.0, 0.9]
    boxes[9] = [0.5, 0.5, 1.2, 0.9]  # clipped at the frame edge
    cfg = write_config(tmp_path, """
[property]
num-detected-classes=2
cluster-mode=2
[class-attrs-all]
pre-cluster-threshold=0.5
""")
    eng = InferEngine(cfg, backend=FakeBackend((1, 3, 240, 320), {"scores": scores, "boxes": boxes}))
    assert eng.decoder_name == "ssd"
    (d,) = eng.infer_arrays([np.zeros((480, 640, 3), np.uint8)])
    assert d.class_id.tolist() == [0, 1]
    assert np.allclose(d.xyxy, [[64, 96, 192, 288], [320, 240, 640, 432]], atol=1e-3)


def test_family_recognised_from_shapes():
    net = NetworkInfo(416, 416, 3)
    assert detect_family({"output": (3549, 85)}, net, 80) == "yolox"
    assert detect_family({"output0": (25200, 85)}, NetworkInfo(640, 640, 3), 80) == "yolov5"
    assert detect_family({"output0": (84, 8400)}, NetworkInfo(640, 640, 3), 80) == "yolov8"
    assert detect_family({"cov": (4, 34, 60), "bbox": (16, 34, 60)}, net, 4) == "detectnet_v2"
    assert detect_family({"scores": (4420, 2), "boxes": (4420, 4)}, net, 1) == "ssd"
    assert detect_family({"a": (3, 4, 5, 6)}, net, 0) is None
    assert builtin_detector("NvDsInferParseCustomResnet") == "detectnet_v2"
    assert builtin_detector("NvDsInferParseYoloX") == "yolox"
    assert builtin_detector("my_parser") is None


def test_mismatched_decoder_fails_at_construction(tmp_path):
    from vistream.infer import ConfigError

    cfg = write_config(tmp_path, "[property]\nparse-bbox-func-name=yolox\nnum-detected-classes=80\n")
    with pytest.raises(ConfigError, match="do not fit the yolox decoder.*anchors"):
        InferEngine(cfg, backend=FakeBackend((1, 3, 416, 416), {"output": np.zeros((100, 85), np.float32)}))


def test_segmentation_argmax_matches_numpy_both_layouts_and_ties():
    from vistream.infer.decoders.segmentation import argmax_max, decode_segmentation

    rng = np.random.default_rng(1)
    x = rng.standard_normal((37, 41, 21)).astype(np.float32)
    x[0, 0, :] = 1.0  # all tied: class 0
    x[1, 1, 5] = x[1, 1, 9] = 50.0  # tie between 5 and 9: 5
    for axis, t in ((2, x), (0, np.ascontiguousarray(x.transpose(2, 0, 1)))):
        idx, best = argmax_max(t, axis)
        assert np.array_equal(idx, np.argmax(t, axis=axis)) and np.array_equal(best, t.max(axis=axis))
        assert idx[0, 0] == 0 and idx[1, 1] == 5
    many = rng.standard_normal((300, 4, 4)).astype(np.float32)  # > 255 classes: NumPy path
    assert np.array_equal(argmax_max(many, 0)[0], np.argmax(many, axis=0))
    cmap = decode_segmentation(x, 2, threshold=0.5)
    assert np.array_equal(cmap == -1, x.max(axis=2) < 0.5)
