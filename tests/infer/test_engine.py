"""InferEngine behaviour: batching, interval, object filters, classifier cache, tensor meta, custom parsers,
errors at construction."""

from __future__ import annotations

import numpy as np
import pytest

from vistream.infer import ConfigError, InferEngine, InferTensorMeta
from vistream.meta import MetaType, make_object

from .conftest import MODELS, PEOPLE, PGIE, SGIE_FACE, TRAFFIC, frames, make_batch
from .fakes import FakeBackend, write_config


def test_batch_of_several_sources_equals_one_by_one(pgie):
    imgs = frames(TRAFFIC, 120, 200) + frames(PEOPLE, 120)
    bm = make_batch(imgs)
    assert pgie.process(imgs, bm) == 3
    for i, img in enumerate(imgs):
        (alone,) = pgie.infer_arrays([img])
        got = bm.frame_meta_list[i].detections()
        assert np.allclose(got.xyxy, alone.xyxy, atol=1e-3) and np.array_equal(got.class_id, alone.class_id)
        assert len(got) > 0


def _counting_detector(tmp_path, extra=""):
    """An SSD-style fake model that 'detects' one box per image at a fixed place."""
    def outputs(batch):
        n = len(batch)
        scores = np.zeros((n, 4, 2), np.float32)
        scores[:, :, 0] = 1
        scores[:, 0] = [0.0, 0.9]
        boxes = np.tile(np.array([0.25, 0.25, 0.75, 0.75], np.float32), (n, 4, 1))
        return {"scores": scores, "boxes": boxes}
    be = FakeBackend((1, 3, 32, 32), outputs, max_batch=0)
    cfg = write_config(tmp_path, f"[property]\nnum-detected-classes=1\ncluster-mode=2\n{extra}\n")
    return InferEngine(cfg, backend=be), be


def test_batch_size_splits_frames_into_inference_calls(tmp_path):
    eng, be = _counting_detector(tmp_path, "batch-size=2")
    be.calls = be.images = 0
    imgs = [np.full((64, 96, 3), i, np.uint8) for i in range(5)]
    bm = make_batch(imgs)
    assert eng.process(imgs, bm) == 5
    assert (be.calls, be.images) == (3, 5)  # 2 + 2 + 1
    for fm in bm.frame_meta_list:
        (o,) = fm.obj_meta_list
        assert o.rect_params.xyxy() == (24.0, 16.0, 72.0, 48.0)
        assert (o.unique_component_id, o.confidence) == (1, pytest.approx(0.9))


def test_interval_counts_frames_per_source(tmp_path):
    eng, be = _counting_detector(tmp_path, "interval=2")
    img = np.zeros((32, 32, 3), np.uint8)
    done = {0: [], 1: []}
    for k in range(7):
        # source 1 only sends every other batch: its own count decides
        sources = [0, 1] if k % 2 == 0 else [0]
        bm = make_batch([img] * len(sources), sources, frame_num=k)
        eng.process([img] * len(sources), bm)
        for fm in bm.frame_meta_list:
            done[fm.source_id].append(fm.bInferDone)
    assert done[0] == [1, 0, 0, 1, 0, 0, 1]
    assert done[1] == [1, 0, 0, 1]
    eng.reset(0)
    bm = make_batch([img], [0])
    eng.process([img], bm)
    assert bm.frame_meta_list[0].bInferDone == 1


def _fake_classifier(tmp_path, extra=""):
    def outputs(batch):
        # class = 1 when the crop is bright, else 0; probability 0.8
        bright = batch.reshape(len(batch), -1).mean(axis=1) > 0
        p = np.full((len(batch), 3), 0.1, np.float32)
        p[np.arange(len(batch)), bright.astype(int)] = 0.8
        return {"prob": p}
    (tmp_path / "labels.txt").write_text("dark;bright;other\n")
    be = FakeBackend((1, 3, 16, 16), outputs)
    cfg = write_config(tmp_path, "[property]\nnetwork-type=1\nprocess-mode=2\ngie-unique-id=2\noperate-on-gie-id=1\n"
                       "offsets=128;128;128\nlabelfile-path=labels.txt\nclassifier-threshold=0.5\n"
                       "classifier-type=shade\n" + extra)
    return InferEngine(cfg, backend=be), be


def _scene(objs):
    img = np.zeros((200, 300, 3), np.uint8)
    img[:, 150:] = 255
    bm = make_batch([img])
    out = []
    for left, top, w, h, cls, comp, oid in objs:
        o = make_object(left, top, w, h, class_id=cls, component_id=comp, label="x")
        if oid is not None:
            o.object_id = oid
        bm.frame_meta_list[0].add_obj_meta(o)
        out.append(o)
    return img, bm, out


def test_object_mode_filters_and_labels(tmp_path):
    eng, be = _fake_classifier(tmp_path, "operate-on-class-ids=0;2\ninput-object-min-width=20\n"
                               "input-object-max-height=100\n")
    img, bm, objs = _scene([(10, 10, 40, 40, 0, 1, None),     # dark, classified
                            (200, 10, 40, 40, 2, 1, None),    # bright, classified
                            (10, 60, 40, 40, 1, 1, None),     # class 1 not operated on
                            (10, 110, 40, 40, 0, 9, None),    # from another gie
                            (60, 10, 10, 40, 0, 1, None),     # too narrow
                            (200, 50, 40, 140, 0, 1, None)])  # too tall
    be.images = 0
    assert eng.process([img], bm) == 2 and be.images == 2
    labels = [[li.result_label for cm in o.classifier_meta_list for li in cm.label_info_list] for o in objs]
    assert labels == [["dark"], ["bright"], [], [], [], []]
    cm = objs[1].classifier_meta_list[0]
    assert (cm.unique_component_id, cm.classifier_type, cm.label_info_list[0].result_prob) == (2, "shade", pytest.approx(0.8))
    assert objs[1].text_params.display_text == "x bright"


def test_classifier_cache_for_tracked_objects(tmp_path):
    eng, be = _fake_classifier(tmp_path, "classifier-async-mode=1\nsecondary-reinfer-interval=10\n")
    be.images = 0
    counts = []
    for frame_num, (w, tracked) in enumerate([(40, 5), (40, 5), (41, 5), (50, 5), (50, 5), (50, None)]):
        img, bm, (o,) = _scene([(10, 10, w, 40, 0, 1, tracked)])
        bm.frame_meta_list[0].frame_num = frame_num
        before = be.images
        eng.process([img], bm)
        counts.append(be.images - before)
        assert [li.result_label for li in o.classifier_meta_list[0].label_info_list] == ["dark"]
    # new object -> infer; same size -> cached; +2.5% -> cached; +25% area -> infer; cached; untracked -> infer
    assert counts == [1, 0, 0, 1, 0, 1]
    img, bm, (o,) = _scene([(10, 10, 50, 40, 0, 1, 5)])
    bm.frame_meta_list[0].frame_num = 13  # 10 frames after the last inference of object 5
    before = be.images
    eng.process([img], bm)
    assert be.images - before == 1
    eng.reset()
    img, bm, (o,) = _scene([(10, 10, 50, 40, 0, 1, 5)])
    bm.frame_meta_list[0].frame_num = 14
    before = be.images
    eng.process([img], bm)
    assert be.images - before == 1


def test_tensor_output_meta_for_network_type_other(tmp_path):
    cfg = write_config(tmp_path, f"""[property]
onnx-file={MODELS / 'ultraface_rfb_320.onnx'}
net-scale-factor=0.0078125
offsets=127;127;127
network-type=100
output-tensor-meta=1
gie-unique-id=9
""")
    eng = InferEngine(cfg, threads=1)
    (img,) = frames(PEOPLE, 120)
    bm = make_batch([img])
    eng.process([img], bm)
    fm = bm.frame_meta_list[0]
    assert fm.obj_meta_list == []
    (um,) = fm.user_meta_of_type(MetaType.TENSOR_OUTPUT)
    tm = um.user_meta_data
    assert isinstance(tm, InferTensorMeta)
    assert (tm.unique_id, tm.num_output_layers, tm.network_info.width, tm.network_info.height) == (9, 2, 320, 240)
    assert tm.layer("scores").shape == (4420, 2) and tm.layer("boxes").shape == (4420, 4)
    assert np.allclose(tm.layer("scores").sum(axis=1), 1.0, atol=1e-4)  # softmaxed
    assert (tm.layer("scores")[:, 1] > 0.7).sum() >= 6


PARSER_SRC = '''
import numpy as np
from vistream.infer import ObjectDetectionInfo

def parse_faces(layers, net, params):
    by = {l.layerName: l.buffer for l in layers}
    out = []
    for s, b in zip(by["scores"][:, 1], by["boxes"]):
        if s >= params.perClassPreclusterThreshold[0]:
            x1, y1, x2, y2 = b * [net.width, net.height, net.width, net.height]
            out.append(ObjectDetectionInfo(0, x1, y1, x2 - x1, y2 - y1, float(s)))
    return out

def top_class(layers, net, threshold):
    p = layers[0].buffer.reshape(-1)
    c = int(np.argmax(p))
    return [(c, float(p[c]), "class%d" % c)] if p[c] > threshold else []
'''


def test_custom_python_bbox_parser_equals_builtin(tmp_path, monkeypatch):
    (tmp_path / "my_parsers.py").write_text(PARSER_SRC)
    base = SGIE_FACE.read_text().replace("../models/", str(MODELS) + "/").replace(
        "labelfile-path=labels_face.txt", f"labelfile-path={SGIE_FACE.parent / 'labels_face.txt'}")
    builtin_cfg = base.replace("process-mode=2", "process-mode=1")
    custom_cfg = builtin_cfg.replace("parse-bbox-func-name=NvDsInferParseUltraFace",
                                     "parse-bbox-func-name=parse_faces\ncustom-lib-path=my_parsers.py")
    (img,) = frames(PEOPLE, 120)
    (want,) = InferEngine(write_config(tmp_path, builtin_cfg, "a.txt"), threads=1).infer_arrays([img])
    eng = InferEngine(write_config(tmp_path, custom_cfg, "b.txt"), threads=1)
    assert eng.decoder_name == "custom:parse_faces"
    (got,) = eng.infer_arrays([img])
    assert len(got) == len(want) >= 3
    assert np.allclose(got.xyxy, want.xyxy, atol=1e-3) and np.allclose(got.confidence, want.confidence, atol=1e-6)
    # module:function form, module found on sys.path
    monkeypatch.syspath_prepend(str(tmp_path))
    modcfg = builtin_cfg.replace("parse-bbox-func-name=NvDsInferParseUltraFace", "parse-bbox-func-name=my_parsers:parse_faces")
    (got2,) = InferEngine(write_config(tmp_path, modcfg, "c.txt"), threads=1).infer_arrays([img])
    assert np.allclose(got2.xyxy, want.xyxy, atol=1e-3)


def test_custom_classifier_parser(tmp_path):
    (tmp_path / "my_parsers.py").write_text(PARSER_SRC)
    be = FakeBackend((1, 3, 8, 8), {"prob": np.array([0.1, 0.7, 0.2], np.float32)})
    cfg = write_config(tmp_path, "[property]\nnetwork-type=1\nparse-classifier-func-name=top_class\n"
                       "custom-lib-path=my_parsers.py\nclassifier-threshold=0.5\n")
    (labels,) = InferEngine(cfg, backend=be).infer_arrays([np.zeros((8, 8, 3), np.uint8)])
    assert [(li.result_class_id, li.result_label, round(li.result_prob, 3)) for li in labels] == [(1, "class1", 0.7)]


def test_instance_masks_from_custom_parser(tmp_path):
    (tmp_path / "inst.py").write_text('''
import numpy as np
from vistream.infer import ObjectDetectionInfo

def parse(layers, net, params):
    o = ObjectDetectionInfo(0, 4, 4, 8, 8, 0.9)
    o.mask = np.ones((8, 8), np.float32)
    return [o]
''')
    cfg = write_config(tmp_path, "[property]\nnetwork-type=3\ncluster-mode=4\nparse-bbox-func-name=parse\n"
                       "custom-lib-path=inst.py\nnum-detected-classes=1\n")
    be = FakeBackend((1, 3, 16, 16), {"x": np.zeros(3, np.float32)})
    eng = InferEngine(cfg, backend=be)
    img = np.zeros((32, 32, 3), np.uint8)
    bm = make_batch([img])
    eng.process([img], bm)
    (o,) = bm.frame_meta_list[0].obj_meta_list
    assert o.rect_params.xyxy() == (8.0, 8.0, 24.0, 24.0)
    assert (o.mask_params.width, o.mask_params.height, float(o.mask_params.data.sum())) == (8, 8, 64.0)


def test_raw_output_file_write(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    eng, _ = _counting_detector(tmp_path, "raw-output-file-write=1\ngie-unique-id=4")
    img = np.zeros((32, 32, 3), np.uint8)
    bm = make_batch([img], [3], frame_num=17)
    eng.process([img], bm)
    out = np.fromfile(tmp_path / "gie-4_source-3_frame-17_scores.bin", np.float32)
    assert out.shape == (8,) and out[1] == np.float32(0.9)
    assert (tmp_path / "gie-4_source-3_frame-17_boxes.bin").stat().st_size == 4 * 4 * 4


# ---- errors at construction ------------------------------------------------------------------------------

def _cfg_with(tmp_path, **keys):
    text = PGIE.read_text().replace("../models/", str(MODELS) + "/")
    for k, v in keys.items():
        k = k.replace("_", "-")
        lines = [ln for ln in text.splitlines() if not ln.startswith(k + "=")]
        lines.insert(lines.index("[property]") + 1, f"{k}={v}")
        text = "\n".join(lines) + "\n"
    return write_config(tmp_path, text, "bad.txt")


def test_missing_model_file(tmp_path):
    p = _cfg_with(tmp_path, onnx_file="nope.onnx")
    with pytest.raises(ConfigError, match=r"bad.txt:\d+: onnx-file: model file not found"):
        InferEngine(p, threads=1)


@pytest.mark.parametrize("key,name,kind", [("model-engine-file", "model_b1_gpu0_fp16.engine", "TensorRT engine"),
                                           ("tlt-encoded-model", "peoplenet.etlt", "encrypted TAO model")])
def test_engine_and_etlt_files_are_refused_with_the_key(tmp_path, key, name, kind):
    (tmp_path / name).write_bytes(b"\0" * 16)
    text = PGIE.read_text().replace("onnx-file=../models/yolox_nano_416_coco.onnx", f"{key}={name}").replace(
        "../models/", str(MODELS) + "/")
    with pytest.raises(ConfigError, match=rf"bad.txt:\d+: {key}: {name} is .*{kind}.*runs ONNX models \(\.onnx\)"):
        InferEngine(write_config(tmp_path, text, "bad.txt"), threads=1)


def test_corrupt_onnx(tmp_path):
    (tmp_path / "broken.onnx").write_bytes(b"this is not a protobuf" * 10)
    with pytest.raises(ConfigError, match="onnx-file: cannot load .*broken.onnx as an ONNX model"):
        InferEngine(_cfg_with(tmp_path, onnx_file=str(tmp_path / "broken.onnx")), threads=1)


def test_wrong_input_size(tmp_path):
    with pytest.raises(ConfigError, match=r"infer-dims: height 320 but the model input 'images' has shape \[1, 3, 416, 416\]"):
        InferEngine(_cfg_with(tmp_path, infer_dims="3;320;320"), threads=1)
    with pytest.raises(ConfigError, match="model-color-format: format 2 needs 1 channel"):
        InferEngine(_cfg_with(tmp_path, model_color_format=2, infer_dims="3;416;416", offsets="0"), threads=1)


def test_label_count_mismatch(tmp_path):
    (tmp_path / "few.txt").write_text("a\nb\nc\n")
    with pytest.raises(ConfigError, match="labelfile-path: 3 labels but num-detected-classes=80"):
        InferEngine(_cfg_with(tmp_path, labelfile_path=str(tmp_path / "few.txt")), threads=1)
    p = write_config(tmp_path, f"""[property]
onnx-file={MODELS / 'mobilenet_v2_1.0_224_quant_imagenet.onnx'}
labelfile-path={MODELS / 'imagenet1001_labels.txt'}
network-type=1
""", "cls.txt")
    # one label per line is the detector format: a classifier needs one ';'-separated line per output layer
    with pytest.raises(ConfigError, match="1001 label lines but the classifier has 1 output layers"):
        InferEngine(p, threads=1)


def test_shared_library_parser_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"custom-lib-path: libnvdsinfer_custom_impl_Yolo.so is a C/C\+\+ shared library"):
        InferEngine(_cfg_with(tmp_path, parse_bbox_func_name="NvDsInferParseCustomYoloV7",
                              custom_lib_path="libnvdsinfer_custom_impl_Yolo.so"), threads=1)
    with pytest.raises(ConfigError, match="parse-bbox-func-name: 'my_func' is not a built-in parser"):
        InferEngine(_cfg_with(tmp_path, parse_bbox_func_name="my_func"), threads=1)


def test_bad_frames_are_reported_with_their_batch_index(pgie):
    bm = make_batch([np.zeros((10, 10, 3), np.uint8)])
    with pytest.raises(ValueError, match=r"frame 0: expected an HxWx3 uint8 RGB image, got ndarray float32"):
        pgie.process([np.zeros((10, 10, 3), np.float32)], bm)


def test_overlap_gives_the_same_objects(pgie):
    imgs = frames(TRAFFIC, 120, 200) + frames(PEOPLE, 120)
    plain = InferEngine(PGIE, {"batch-size": 3}, threads=1, overlap=False)
    assert pgie._pool is not None and plain._pool is None
    a, b = make_batch(imgs), make_batch(imgs)
    pgie.process(imgs, a)
    plain.process(imgs, b)
    for fa, fb in zip(a.frame_meta_list, b.frame_meta_list, strict=True):
        da, db = fa.detections(), fb.detections()
        assert len(da) == len(db) > 0 and np.array_equal(da.xyxy, db.xyxy)


def test_precision_request_warns_on_cpu(tmp_path):
    with pytest.warns(UserWarning, match="network-mode=2 \\(FP16\\) is not available on the ONNX Runtime CPU"):
        InferEngine(_cfg_with(tmp_path, network_mode=2), threads=1)


def test_object_crops_of_all_frames_share_one_call(tmp_path):
    eng, be = _fake_classifier(tmp_path, "batch-size=16\n")
    imgs, bms = [], []
    for _ in range(3):
        img, bm, _ = _scene([(10, 10, 40, 40, 0, 1, None), (200, 10, 40, 40, 2, 1, None)])
        imgs.append(img)
        bms.append(bm)
    batch = make_batch(imgs)
    for i, bm in enumerate(bms):
        batch.frame_meta_list[i].obj_meta_list = bm.frame_meta_list[0].obj_meta_list
    be.calls = be.images = 0
    assert eng.process(imgs, batch) == 6
    assert (be.calls, be.images) == (1, 6)
    labels = [cm.label_info_list[0].result_label for _, o in batch.objects() for cm in o.classifier_meta_list]
    assert labels == ["dark", "bright"] * 3


def test_engine_from_config_object_with_element_properties(tmp_path):
    from vistream.infer import load_infer_config

    cfg = load_infer_config(PGIE)
    eng = InferEngine(cfg, {"unique-id": 11, "infer-on-class-ids": "0"}, threads=1)
    assert (eng.unique_id, eng.config.operate_on_class_ids, cfg.gie_unique_id) == (11, [0], 1)
    (img,) = frames(PEOPLE, 120)
    bm = make_batch([img])
    eng.process([img], bm)
    assert {o.unique_component_id for o in bm.frame_meta_list[0].obj_meta_list} == {11}


def test_duplicate_batch_ids_are_refused(pgie):
    img = np.zeros((32, 32, 3), np.uint8)
    bm = make_batch([img, img])
    bm.frame_meta_list[1].batch_id = 0
    with pytest.raises(ValueError, match=r"share batch_id values \[0, 0\]"):
        pgie.process([img, img], bm)


def test_backend_choice_errors(tmp_path):
    import onnxruntime as ort

    with pytest.raises(ConfigError, match=r"bad.txt:\d+: backend: unknown backend 'tensorrt'; available: onnxruntime"):
        InferEngine(_cfg_with(tmp_path, backend="tensorrt"), threads=1)
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        with pytest.raises(ConfigError, match=r"bad.txt:\d+: backend: onnxruntime-cuda needs the onnxruntime-gpu package"):
            InferEngine(_cfg_with(tmp_path, backend="onnxruntime-cuda"), threads=1)
    else:
        assert InferEngine(_cfg_with(tmp_path, backend="onnxruntime-cuda"), threads=1).decoder_name == "yolox"


def test_submitted_batches_in_flight_give_the_same_objects_as_process():
    imgs = frames(TRAFFIC, 100, 140, 180, 220) + frames(PEOPLE, 60, 120)
    eng = InferEngine(PGIE, threads=2)  # batch-size 1, two single-threaded model slices at once
    assert eng.concurrency == 2
    ref = InferEngine(PGIE, threads=1, overlap=False)
    assert ref.concurrency == 1
    pending = [(eng.submit([img], bm), bm) for img in imgs for bm in [make_batch([img])]]
    assert sum(len(p) for p, _ in pending) == len(imgs)  # every batch still in flight, none attached yet
    assert all(not bm.frame_meta_list[0].obj_meta_list for _, bm in pending)
    for (p, bm), img in zip(pending, imgs, strict=True):
        assert eng.complete(p) == 1 and len(p) == 0
        want = make_batch([img])
        ref.process([img], want)
        got_d, want_d = bm.frame_meta_list[0].detections(), want.frame_meta_list[0].detections()
        assert len(got_d) == len(want_d) and np.allclose(got_d.xyxy, want_d.xyxy, atol=1e-3)
    eng.close()


def test_submit_runs_in_place_where_nothing_can_overlap(pgie):
    img = frames(TRAFFIC, 100)
    bm = make_batch(img)
    p = pgie.submit(img, bm)  # one thread: no workers, the batch is done when submit returns
    assert pgie.concurrency == 1 and len(p) == 0 and bm.frame_meta_list[0].obj_meta_list
    assert pgie.complete(p) == 1


def test_batch_post_processing_equals_frame_by_frame(pgie):
    """The batch-wide path (clustering, box mapping, size and ROI filters at once) gives every frame the
    detections of the frame-by-frame path, for frames of different sizes."""
    import dataclasses

    from vistream.infer.engine import InferResult

    cfg = pgie.config
    saved = cfg.class_attrs_all
    cfg.class_attrs_all = dataclasses.replace(saved, roi_top_offset=40, roi_bottom_offset=20, detected_min_w=12,
                                              topk=3)
    try:
        imgs = frames(TRAFFIC, 120, 200) + frames(PEOPLE, 120) + frames(TRAFFIC, 90)
        batch, tfs = pgie.preprocess(imgs, None)
        outputs = pgie.backend.infer(batch)
        got = pgie._postprocess_all(outputs, tfs)
        for i, tf in enumerate(tfs):
            ref = InferResult(raw={})
            ref.detections, _ = pgie._detect({k: v[i] for k, v in outputs.items()}, tf)
            a, b = got[i].detections, ref.detections
            assert np.array_equal(a.xyxy, b.xyxy) and np.array_equal(a.confidence, b.confidence)
            assert np.array_equal(a.class_id, b.class_id) and list(a.data["labels"]) == list(b.data["labels"])
        assert sum(len(r.detections) for r in got) > 0
    finally:
        cfg.class_attrs_all = saved


def test_pending_batch_waits_on_gpu_style_jobs_in_order():
    """PendingBatch.wait also takes jobs that are not futures (the GPU engine's queued batches): each waited
    for in order within what is left of the timeout."""
    import time

    from vistream.infer.engine import PendingBatch

    class Job:
        def __init__(self, ready_at):
            self.ready_at = ready_at

        def done(self):
            return time.monotonic() >= self.ready_at

        def wait(self, timeout=None):
            end = self.ready_at if timeout is None else min(self.ready_at, time.monotonic() + timeout)
            time.sleep(max(0.0, end - time.monotonic()))
            return self.done()

    now = time.monotonic()
    p = PendingBatch(2)
    p.slices.extend([([], Job(now + 0.05), None, None), ([], Job(now + 0.10), None, None)])
    assert not p.done() and not p.wait(0.01)
    assert p.wait(1.0) and p.done() and time.monotonic() - now < 0.5
