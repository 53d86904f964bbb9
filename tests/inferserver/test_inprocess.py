"""nvinferserver with the in-process backend: same metadata as nvinfer, element in a pipeline, custom processor."""

from __future__ import annotations

import numpy as np
import pytest

import vistream
import vistream.elements.inferserver  # noqa: F401 - registers nvinferserver until the package imports it
from tests.infer.conftest import frames, make_batch
from tests.inferserver.conftest import CONFIGS, PGIE, SGIE, TRAFFIC_48, write_config
from vistream import PadProbeReturn, PadProbeType
from vistream.core.pipeline import PipelineError
from vistream.infer import InferEngine
from vistream.inferserver import InferServerEngine
from vistream.meta import get_batch_meta

TRAFFIC = CONFIGS.parent / "videos" / "traffic_overhead_640x360.mp4"


def _objects(bm):
    return [[(o.class_id, o.obj_label, round(o.confidence, 5), tuple(np.round([o.rect_params.left, o.rect_params.top,
             o.rect_params.width, o.rect_params.height], 3)), o.unique_component_id,
              [(li.result_class_id, li.result_label, round(li.result_prob, 5)) for c in o.classifier_meta_list
               for li in c.label_info_list])
             for o in fm.obj_meta_list] for fm in bm.frame_meta_list]


def test_primary_and_secondary_metadata_equal_nvinfer():
    """Frames 120 and 200 of the traffic clip (4 cars + 4 trucks; 7 cars, per the model's provenance notes)."""
    imgs = frames(TRAFFIC, 120, 200)
    results = []
    for pgie, sgie in ((PGIE, SGIE), (CONFIGS / "config_infer_primary_yoloX.txt",
                                      CONFIGS / "config_infer_secondary_vehicle_classifier.txt")):
        engine = InferServerEngine if pgie.parent.name == "inferserver" else InferEngine
        with engine(pgie, threads=1) as p, engine(sgie, threads=1) as s:
            bm = make_batch(imgs)
            assert p.process(imgs, bm) == 2
            s.process(imgs, bm)
        results.append(_objects(bm))
    server, ref = results
    assert server == ref
    labels = [sorted(o[1] for o in f) for f in server]
    assert labels[0].count("car") >= 4 and labels[0].count("truck") >= 3
    assert labels[1].count("car") >= 7
    classified = [o for f in server for o in f if o[5]]
    assert classified and all(o[4] == 1 for f in server for o in f)  # unique_component_id of the detector


def test_element_in_a_pipeline(traffic_clip=TRAFFIC_48):
    """48 frames through nvinferserver: the counts nvinfer gives on the same clip (123 objects, frame 0 has a car
    at x=504.44)."""
    p = vistream.parse_launch(
        f"filesrc location={traffic_clip} ! qtdemux ! h264parse ! nvv4l2decoder ! m.sink_0 "
        "nvstreammux name=m batch-size=1 width=640 height=360 ! "
        f"nvinferserver name=inf config-file-path={PGIE} batch-size=2 num-threads=1 ! fakesink name=sink")
    seen = []

    def probe(pad, info, _):
        for fm in get_batch_meta(info.get_buffer()).frame_meta_list:
            seen.append((fm.frame_num, [(o.obj_label, round(o.rect_params.left, 2), o.unique_component_id)
                                        for o in fm.obj_meta_list]))
        return PadProbeReturn.OK

    p.get_by_name("sink").get_static_pad("sink").add_probe(PadProbeType.BUFFER, probe, None)
    p.run(timeout=120)
    assert len(seen) == 48 and [f for f, _ in seen] == list(range(48))
    assert sum(len(objs) for _, objs in seen) == 123
    assert ("car", 504.44, 1) in seen[0][1]


def test_element_errors_name_the_config_line(tmp_path):
    bad = write_config(tmp_path, 'infer_config {\n  unique_id: 1\n  max_batch_size: -3\n}\n')
    p = vistream.parse_launch(f"videotestsrc num-buffers=1 ! m.sink_0 nvstreammux name=m batch-size=1 width=64 "
                              f"height=64 ! nvinferserver config-file-path={bad} ! fakesink")
    with pytest.raises(PipelineError, match=rf"{bad}:3: "):
        p.run(timeout=30)
    p = vistream.parse_launch("videotestsrc num-buffers=1 ! m.sink_0 nvstreammux name=m batch-size=1 width=64 "
                              "height=64 ! nvinferserver ! fakesink")
    with pytest.raises(PipelineError, match='"config-file-path" is not set'):
        p.run(timeout=30)


PROCESSOR = '''
from vistream.meta import DisplayMeta, TextParams


class Counter:
    def __init__(self, config):
        self.model = config.model_name
        self.calls = []

    def inference_done(self, outputs, frame_meta):
        out = outputs["output"]
        self.calls.append((frame_meta.frame_num, out.shape))
        # attach something the test can see: the number of anchors with objectness above 0.5
        frame_meta.misc_frame_info[0] = int((out[..., 4] > 0.5).sum())


def create_processor(config):
    return Counter(config)
'''


def test_custom_process_function(tmp_path):
    (tmp_path / "proc.py").write_text(PROCESSOR)
    text = PGIE.read_text().replace('"./triton_model_repo"', f'"{PGIE.parent / "triton_model_repo"}"')
    text = text.replace('"../../models/coco80_labels.txt"', f'"{CONFIGS.parent / "models" / "coco80_labels.txt"}"')
    text = text.replace("  extra {", '  custom_lib { path: "proc.py" }\n  extra {\n    custom_process_funcion: '
                        '"create_processor"')
    cfg = tmp_path / "cfg.txt"
    cfg.write_text(text)
    imgs = frames(TRAFFIC, 120)
    with InferServerEngine(cfg, threads=1) as eng:
        bm = make_batch(imgs, frame_num=120)
        eng.process(imgs, bm)
        proc = eng._processor
    assert proc.model == "yolox_nano" and proc.calls == [(120, (3549, 85))]
    assert bm.frame_meta_list[0].misc_frame_info[0] > 0
    assert len(bm.frame_meta_list[0].obj_meta_list) >= 8  # the detector's objects are still there
    cfg.write_text(text.replace('"create_processor"', '"make_it"'))
    with pytest.raises(ValueError, match=r"cfg.txt:\d+: infer_config.extra.custom_process_funcion: .*no function 'make_it'"):
        InferServerEngine(cfg, threads=1)
