"""Accuracy parity: the engine's objects equal a straightforward reference written here from each model's
verified recipe, on real decoded frames (boxes within 1 px, same classes, scores within 1e-3)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vistream.infer import InferEngine, SegmentationMeta
from vistream.meta import MetaType

from .conftest import (
    PEOPLE,
    SEG,
    SGIE_CLS,
    SGIE_FACE,
    TRAFFIC,
    assert_same_objects,
    frames,
    make_batch,
    ref_nms,
)


def yolox_reference(session, rgb: np.ndarray) -> list[tuple[int, float, tuple]]:
    """YOLOX-Nano recipe: top-left letterbox on grey 114, BGR 0..255, grid decode, score = obj * cls,
    threshold 0.3, class-wise NMS 0.45, boxes / r."""
    h, w = rgb.shape[:2]
    r = min(416 / h, 416 / w)
    canvas = np.full((416, 416, 3), 114, np.uint8)
    canvas[: int(h * r), : int(w * r)] = cv2.resize(rgb, (int(w * r), int(h * r)), interpolation=cv2.INTER_LINEAR)
    x = canvas[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32)
    out = session.run(None, {"images": x})[0][0]
    rows = []
    k = 0
    for s in (8, 16, 32):
        g = 416 // s
        for gy in range(g):
            for gx in range(g):
                p = out[k]
                k += 1
                c = int(np.argmax(p[5:]))
                score = float(p[4] * p[5 + c])
                if score < 0.3:
                    continue
                cx, cy = (p[0] + gx) * s, (p[1] + gy) * s
                bw, bh = np.exp(p[2]) * s, np.exp(p[3]) * s
                rows.append((c, score, (cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2)))
    result = []
    for c in sorted({r_[0] for r_ in rows}):
        mine = [r_ for r_ in rows if r_[0] == c]
        boxes = np.array([m[2] for m in mine], np.float64)
        scores = np.array([m[1] for m in mine])
        for i in ref_nms(boxes, scores, 0.45):
            b = np.clip(boxes[i] / r, 0, [w, h, w, h])
            result.append((c, float(scores[i]), tuple(b)))
    return result


def objects_of(fm, component_id: int) -> list[tuple[int, float, tuple]]:
    return [(o.class_id, o.confidence, o.rect_params.xyxy()) for o in fm.obj_meta_list
            if o.unique_component_id == component_id]


@pytest.mark.parametrize("video,index,expect", [(TRAFFIC, 120, {2: 4, 7: 4}), (TRAFFIC, 200, {2: 7, 7: 1}),
                                                (PEOPLE, 120, {0: 16})])
def test_yolox_primary_matches_reference(pgie, ort_session, video, index, expect):
    (img,) = frames(video, index)
    bm = make_batch([img])
    assert pgie.process([img], bm) == 1
    fm = bm.frame_meta_list[0]
    got = objects_of(fm, 1)
    assert_same_objects(got, yolox_reference(ort_session("yolox_nano_416_coco.onnx"), img))
    counts = {}
    for c, _, _ in got:
        counts[c] = counts.get(c, 0) + 1
    assert counts == expect
    assert fm.bInferDone == 1
    o = fm.obj_meta_list[0]
    assert o.obj_label == {0: "person", 2: "car", 7: "truck"}[o.class_id]
    assert o.text_params.display_text == o.obj_label
    assert (o.detector_bbox_info.org_bbox_coords.left, o.detector_bbox_info.org_bbox_coords.width) == (
        o.rect_params.left, o.rect_params.width)


def test_classifier_on_vehicle_crops_matches_reference(pgie, ort_session):
    img_a, img_b = frames(TRAFFIC, 120, 200)
    bm = make_batch([img_a, img_b])
    pgie.process([img_a, img_b], bm)
    sgie = InferEngine(SGIE_CLS, threads=1)
    n = sgie.process([img_a, img_b], bm)
    labels = [ln.strip() for ln in (SGIE_CLS.parent / "../models/imagenet1001_labels.txt").read_text().splitlines()]
    session = ort_session("mobilenet_v2_1.0_224_quant_imagenet.onnx")
    checked = eligible = 0
    for fm in bm.frame_meta_list:
        img = [img_a, img_b][fm.batch_id]
        for o in fm.obj_meta_list:
            r = o.rect_params
            if o.class_id not in (2, 5, 7) or r.width < 32 or r.height < 32:
                assert o.classifier_meta_list == []
                continue
            eligible += 1
            x1, y1 = int(np.floor(r.left)), int(np.floor(r.top))
            x2, y2 = int(np.ceil(r.left + r.width)), int(np.ceil(r.top + r.height))
            crop = cv2.resize(img[max(0, y1):y2, max(0, x1):x2], (224, 224), interpolation=cv2.INTER_LINEAR)
            x = ((crop.astype(np.float32) - 128.0) / 128.0).transpose(2, 0, 1)[None]
            p = session.run(None, {"input": x})[0][0]
            c = int(np.argmax(p))
            if p[c] <= 0.2:
                assert o.classifier_meta_list == []
                continue
            (cm,) = o.classifier_meta_list
            (li,) = cm.label_info_list
            assert (cm.unique_component_id, cm.classifier_type) == (2, "vehicletype")
            assert (li.result_class_id, li.result_label) == (c, labels[c])
            assert abs(li.result_prob - float(p[c])) < 1e-3
            assert o.text_params.display_text.endswith(labels[c])
            checked += 1
    # vehicles of both frames at least 32x32, classified in one batched pass
    assert n == eligible == 14
    assert checked >= 10


@pytest.mark.parametrize("index", [120, 300])
def test_face_detector_on_person_crops_matches_reference(pgie, ort_session, index):
    (img,) = frames(PEOPLE, index)
    bm = make_batch([img])
    pgie.process([img], bm)
    persons = [o for o in bm.frame_meta_list[0].obj_meta_list if o.class_id == 0]
    sgie = InferEngine(SGIE_FACE, threads=1)
    n = sgie.process([img], bm)
    session = ort_session("ultraface_rfb_320.onnx")
    want = []
    eligible = 0
    for p in persons:
        r = p.rect_params
        if r.width < 32 or r.height < 64:
            continue
        eligible += 1
        x1, y1 = int(np.floor(r.left)), int(np.floor(r.top))
        x2, y2 = min(img.shape[1], int(np.ceil(r.left + r.width))), min(img.shape[0], int(np.ceil(r.top + r.height)))
        crop = img[y1:y2, x1:x2]
        h, w = crop.shape[:2]
        s = min(320 / w, 240 / h)
        nw, nh = int(w * s), int(h * s)
        px, py = (320 - nw) // 2, (240 - nh) // 2
        canvas = np.full((240, 320, 3), 127, np.uint8)
        canvas[py:py + nh, px:px + nw] = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_LINEAR)
        x = ((canvas.astype(np.float32) - 127.0) / 128.0).transpose(2, 0, 1)[None]
        scores, boxes = session.run(["scores", "boxes"], {"input": x})
        sc, bx = scores[0][:, 1], boxes[0] * [320, 240, 320, 240]
        m = sc >= 0.7
        sc, bx = sc[m], bx[m]
        for i in ref_nms(bx, sc, 0.3):
            b = (bx[i] - [px, py, px, py]) / [nw / w, nh / h, nw / w, nh / h]
            b = np.clip(b, 0, [w, h, w, h]) + [x1, y1, x1, y1]
            want.append((0, float(sc[i]), tuple(b), p))
    faces = [o for o in bm.frame_meta_list[0].obj_meta_list if o.unique_component_id == 3]
    assert n == eligible
    assert_same_objects([(o.class_id, o.confidence, o.rect_params.xyxy()) for o in faces], [w_[:3] for w_ in want])
    assert len(faces) >= 4
    for f in faces:
        assert f.obj_label == "face" and f.parent is not None and f.parent.class_id == 0
        pr = f.parent.rect_params
        assert pr.left - 1 <= f.rect_params.left and f.rect_params.left + f.rect_params.width <= pr.left + pr.width + 1


def test_segmentation_matches_reference(ort_session):
    img_a, img_b = frames(PEOPLE, 120)[0], frames(TRAFFIC, 200)[0]
    eng = InferEngine(SEG, threads=1)
    bm = make_batch([img_a, img_b])
    assert eng.process([img_a, img_b], bm) == 2
    session = ort_session("deeplabv3_mnv2_257_voc.onnx")
    for fm, img in zip(bm.frame_meta_list, (img_a, img_b), strict=True):
        (um,) = fm.user_meta_of_type(MetaType.SEGMENTATION)
        seg = um.user_meta_data
        assert isinstance(seg, SegmentationMeta)
        x = (cv2.resize(img, (257, 257), interpolation=cv2.INTER_LINEAR).astype(np.float32) - 127.5) / 127.5
        logits = session.run(None, {"sub_7": x[None]})[0][0]
        ref = np.argmax(logits, axis=2)
        assert (seg.width, seg.height, seg.classes) == (257, 257, 21)
        assert np.mean(seg.class_map == ref) > 0.9999
        full = seg.frame_class_map()
        assert full.shape == img.shape[:2]
        assert np.array_equal(full, cv2.resize(ref.astype(np.int16), (img.shape[1], img.shape[0]),
                                               interpolation=cv2.INTER_NEAREST))
    people = bm.frame_meta_list[0].user_meta_of_type(MetaType.SEGMENTATION)[0].user_meta_data.class_fractions()
    assert people.get(15, 0.0) > 0.3  # person pixels on the crowded walkway
    assert bm.frame_meta_list[0].obj_meta_list == []
