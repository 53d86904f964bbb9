"""nvinferserver against a real Triton Inference Server (2.x, CPU, Python backend running ONNX Runtime).

The server serves the sample model repository; results must equal the in-process backend's, over gRPC and
HTTP, with and without system shared memory, and with Triton's dynamic batcher.
"""

from __future__ import annotations

import numpy as np
import pytest

import vistream
import vistream.elements.inferserver  # noqa: F401
from tests.infer.conftest import frames, make_batch
from tests.inferserver.conftest import CONFIGS, PGIE, REPO, TRAFFIC_48, grpc_config
from tests.servers.brokers import free_port
from tests.servers.triton import TritonServer
from vistream import PadProbeReturn, PadProbeType
from vistream.infer.config import ConfigError
from vistream.inferserver import InferServerEngine
from vistream.meta import get_batch_meta

pytestmark = pytest.mark.server
TRAFFIC = CONFIGS.parent / "videos" / "traffic_overhead_640x360.mp4"


@pytest.fixture(scope="module")
def triton():
    """The repository as config.pbtxt says (max_batch_size 0: one image per request)."""
    with TritonServer(REPO, models="yolox_nano") as server:
        yield server


@pytest.fixture(scope="module")
def imgs():
    return frames(TRAFFIC, 120, 200, 300)


@pytest.fixture(scope="module")
def reference(imgs):
    with InferServerEngine(PGIE, threads=1) as eng:
        return _run(eng, imgs)


def _run(engine, imgs):
    bm = make_batch(imgs)
    assert engine.process(imgs, bm) == len(imgs)
    return [[(o.obj_label, round(o.confidence, 4), round(o.rect_params.left, 2), round(o.rect_params.top, 2),
              round(o.rect_params.width, 2)) for o in fm.obj_meta_list] for fm in bm.frame_meta_list]


def _region_count(url: str) -> int:
    import tritonclient.grpc as g

    c = g.InferenceServerClient(url)
    try:
        return len(c.get_system_shared_memory_status(as_json=True).get("regions", {}))
    finally:
        c.close()


@pytest.mark.parametrize("transport", ["grpc", "grpc-noshm", "http"])
def test_same_objects_as_in_process(triton, tmp_path, imgs, reference, transport):
    url = triton.http_url if transport == "http" else triton.grpc_url
    shm = "none" if transport == "grpc-noshm" else "auto"
    with InferServerEngine(grpc_config(tmp_path, url), shared_memory=shm) as eng:
        assert eng.backend.protocol == ("http" if transport == "http" else "grpc")
        assert eng.backend.max_batch == 1 and eng.backend.input_shape == (1, 3, 416, 416)
        assert eng.backend.shared_memory is (shm == "auto")
        if shm == "auto":  # input + output region for each request that can be in flight
            assert _region_count(triton.grpc_url) == 2 * eng.backend.max_in_flight
        got = _run(eng, imgs)
    assert got == reference
    assert sum(len(f) for f in got) >= 15
    assert _region_count(triton.grpc_url) == 0  # close() unregistered everything


def test_element_pipeline_over_grpc(triton, tmp_path):
    cfg = grpc_config(tmp_path, triton.grpc_url)
    p = vistream.parse_launch(
        f"filesrc location={TRAFFIC_48} ! qtdemux ! h264parse ! nvv4l2decoder ! m.sink_0 "
        "nvstreammux name=m batch-size=1 width=640 height=360 ! "
        f"nvinferserver config-file-path={cfg} ! fakesink name=sink")
    counts = []

    def probe(pad, info, _):
        counts.extend(len(fm.obj_meta_list) for fm in get_batch_meta(info.get_buffer()).frame_meta_list)
        return PadProbeReturn.OK

    p.get_by_name("sink").get_static_pad("sink").add_probe(PadProbeType.BUFFER, probe, None)
    p.run(timeout=120)
    assert len(counts) == 48 and sum(counts) == 123  # as nvinfer and the in-process backend on this clip


def test_dynamic_batching_server(tmp_path, imgs, reference):
    """Triton's dynamic batcher (max_batch_size 4): a batch of 3 frames goes as one request."""
    with TritonServer(REPO, batching=4, models="yolox_nano") as server:
        with InferServerEngine(grpc_config(tmp_path, server.grpc_url)) as eng:
            assert eng.backend.max_batch_size == 4 and eng.backend.input_shape == (None, 3, 416, 416)
            got = _run(eng, imgs)
            out = eng.backend.infer(np.zeros((6, 3, 416, 416), np.float32))  # 2 requests of 4 + 2
            assert out["output"].shape == (6, 3549, 85)
    assert got == reference


def test_unreachable_server_names_the_config_line(tmp_path):
    cfg = grpc_config(tmp_path, f"127.0.0.1:{free_port()}")
    with pytest.raises(ConfigError, match=rf"^{cfg}:13: infer_config.backend.triton.grpc.url: Triton at "
                                          r"127.0.0.1:\d+ has no ready model 'yolox_nano'"):
        InferServerEngine(cfg, server_timeout=0.5)
