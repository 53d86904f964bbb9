"""Device selection, error messages and bitstream conversion: no GPU needed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from vistream import gpu
from vistream.gpu.bitstream import avcc_parameter_sets, length_prefixed_to_annexb

DATA = Path(__file__).resolve().parents[1] / "data"


def test_env_cpu_forces_cpu(monkeypatch):
    monkeypatch.setenv(gpu.ENV, "cpu")
    assert gpu.device_mode() == "cpu"
    assert gpu.use_gpu(0, need_decoder=True) is False


def test_env_bad_value_is_named(monkeypatch):
    monkeypatch.setenv(gpu.ENV, "tpu")
    with pytest.raises(gpu.GpuUnavailableError, match="VISTREAM_DEVICE='tpu': expected cpu, gpu or auto"):
        gpu.device_mode()


def test_env_gpu_demands_a_gpu(monkeypatch):
    monkeypatch.setenv(gpu.ENV, "gpu")
    why = gpu.missing_reason(0, need_decoder=True)
    if why is None:
        assert gpu.use_gpu(0, need_decoder=True, element="dec0") is True
    else:
        with pytest.raises(gpu.GpuUnavailableError) as e:
            gpu.use_gpu(0, need_decoder=True, element="dec0")
        assert str(e.value).startswith("dec0: VISTREAM_DEVICE=gpu but the GPU path cannot run: ")
        assert "pip install 'vistream[gpu]'" in str(e.value)


def test_auto_and_missing_gpu_id(monkeypatch):
    monkeypatch.delenv(gpu.ENV, raising=False)
    assert gpu.device_mode() == "auto"
    why = gpu.missing_reason(99)
    assert why is not None  # no machine has 100 GPUs
    assert gpu.use_gpu(99) is False
    with pytest.raises(gpu.GpuUnavailableError, match="nvinfer needs an NVIDIA GPU: "):
        gpu.require_gpu(99, what="nvinfer")


def test_is_gpu_array_on_host_data():
    assert not gpu.is_gpu_array(np.zeros((2, 4, 4, 3), np.uint8))
    assert not gpu.is_gpu_array([np.zeros(3)])
    assert gpu.status().startswith(("GPU path available", "GPU path unavailable"))


def test_torch_backend_registered_and_errors_clearly():
    from vistream.infer.backends import available_backends, create_backend
    from vistream.infer.config import ConfigError

    assert "torch" in available_backends()
    with pytest.raises(ConfigError, match=r"^onnx-file: .*model file not found|^onnx-file: backend=torch needs"):
        create_backend("torch", "no/such/model.onnx", key="onnx-file")


def test_length_prefixed_to_annexb_decodes_like_the_original():
    """MP4 (avcC) samples rewritten with start codes decode to the same frames with a plain H.264 decoder."""
    av = pytest.importorskip("av", reason="PyAV is needed to read the MP4 samples")
    with av.open(str(DATA / "traffic_48.mp4")) as c:
        st = c.streams.video[0]
        extra = st.codec_context.extradata
        packets = [bytes(p) for p in c.demux(st) if p.size]
    prefix, nal_len = avcc_parameter_sets(extra)
    assert nal_len == 4 and prefix.startswith(b"\x00\x00\x00\x01") and prefix.count(b"\x00\x00\x00\x01") == 2
    ctx = av.CodecContext.create("h264", "r")
    frames = []
    for i, data in enumerate(packets):
        annexb = length_prefixed_to_annexb(data, nal_len)
        assert annexb.startswith(b"\x00\x00\x00\x01")
        frames += ctx.decode(av.Packet((prefix if i == 0 else b"") + annexb))
    frames += ctx.decode(None)
    assert len(frames) == 48
    assert (frames[0].width, frames[0].height) == (640, 360)
    with av.open(str(DATA / "traffic_48.mp4")) as c:
        ref = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert np.array_equal(frames[0].to_ndarray(format="rgb24"), ref)


def test_corrupt_length_prefix_is_an_error():
    with pytest.raises(ValueError, match="corrupt length-prefixed NAL unit"):
        length_prefixed_to_annexb(b"\x00\x00\x00\x10\x65\x88", 4)


def test_infer_engine_falls_back_to_the_cpu_engine_without_a_gpu(monkeypatch):
    """Without CUDA (or without the GPU packages) the GPU entry point gives the CPU engine and says why."""
    if gpu.missing_reason(0) is None:
        pytest.skip("a CUDA GPU is present: the GPU engine is used (tests/gpu/test_cuda.py)")
    from vistream.infer import InferEngine

    monkeypatch.delenv(gpu.ENV, raising=False)
    cfg = Path(__file__).resolve().parents[2] / "samples" / "configs" / "config_infer_primary_yoloX.txt"
    with pytest.warns(UserWarning, match="running the model with ONNX Runtime") as w:
        eng = gpu.infer_engine(cfg, {"batch-size": 2}, threads=1)
    assert type(eng) is InferEngine and eng.config.batch_size == 2
    assert any("backend=torch" in str(x.message) or "vistream[gpu]" in str(x.message) for x in w)


def test_forced_gpu_without_gpu_fails_naming_the_decoder(monkeypatch):
    """VISTREAM_DEVICE=gpu on a machine without the GPU path: nvv4l2decoder fails at its first packet, naming
    itself and the missing piece; VISTREAM_DEVICE=cpu decodes every frame with FFmpeg."""
    if gpu.missing_reason(0, need_decoder=True) is None:
        pytest.skip("a usable GPU is present: the forced-GPU path decodes on NVDEC (tests/gpu/test_cuda.py)")
    pytest.importorskip("av", reason="the media elements need PyAV")
    import vistream

    launch = (f"filesrc location={DATA / 'traffic_48.mp4'} ! qtdemux ! h264parse ! nvv4l2decoder name=dec ! "
              "fakesink name=sink")
    monkeypatch.setenv(gpu.ENV, "gpu")
    with pytest.raises(Exception, match=r"dec: VISTREAM_DEVICE=gpu but the GPU path cannot run: .*vistream\[gpu\]"):
        vistream.parse_launch(launch).run()
    monkeypatch.setenv(gpu.ENV, "cpu")
    p = vistream.parse_launch(launch)
    frames = []
    p.get_by_name("sink").get_static_pad("sink").add_probe(
        vistream.PadProbeType.BUFFER, lambda pad, info, u: (frames.append(1), vistream.PadProbeReturn.OK)[1], None)
    p.run()
    assert len(frames) == 48


def test_decoder_output_stays_on_gpu_only_when_it_feeds_streammux():
    pytest.importorskip("av", reason="the media elements need PyAV")
    import vistream

    clip = DATA / "traffic_48.mp4"
    direct = vistream.parse_launch(f"filesrc location={clip} ! qtdemux ! h264parse ! nvv4l2decoder name=d ! queue ! "
                                   "m.sink_0 nvstreammux name=m batch-size=1 ! fakesink")
    assert direct.get_by_name("d")._feeds_streammux() is True
    other = vistream.parse_launch(f"filesrc location={clip} ! qtdemux ! h264parse ! nvv4l2decoder name=d ! "
                                  "nvvideoconvert ! fakesink")
    assert other.get_by_name("d")._feeds_streammux() is False


def test_streammux_gpu_batching_logic_on_host_tensors(monkeypatch):
    """The GPU batching branch (NV12 -> RGB at the mux size, metadata, NVMM caps), run on CPU tensors."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    import cv2

    from vistream.core.element import make_element
    from vistream.elements import streammux
    from vistream.elements.video import i420_to_nv12, video_caps

    monkeypatch.setattr(streammux, "is_gpu_data", lambda d: isinstance(d, torch.Tensor))
    mux = make_element("nvstreammux", width=320, height=320, **{"batch-size": 2, "enable-padding": True})
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (180, 320, 3), dtype=np.uint8)
    rgb = cv2.GaussianBlur(rgb, (9, 9), 3)
    nv12 = i420_to_nv12(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420))
    caps_nv12 = video_caps("NV12", 320, 180, 30, ("memory:NVMM",))
    caps_rgb = video_caps("RGB", 320, 180, 30, ("memory:NVMM",))
    def frame(data, pts, caps):  # the other _Frame fields are timing stamps
        kw = {f.name: 0.0 for f in dataclasses.fields(streammux._Frame)}
        kw.update(data=data, pts=pts, caps=caps)
        return streammux._Frame(**kw)

    batch = [(streammux._SourceState(0, None), frame(torch.from_numpy(nv12), 1000, caps_nv12), 7),
             (streammux._SourceState(1, None), frame(torch.from_numpy(rgb), 2000, caps_rgb), 3)]
    buf = mux._make_gpu_buffer(batch)
    assert tuple(buf.data.shape) == (2, 320, 320, 3) and buf.data.dtype == torch.uint8
    assert buf.caps.features == ("memory:NVMM",) and buf.caps.get("format") == "RGB"
    assert (buf.caps.get("width"), buf.caps.get("height"), buf.pts) == (320, 320, 1000)
    out = buf.data.numpy()
    assert out[:, 180:].max() == 0  # letterboxed at the top-left, black below
    ref = cv2.cvtColor(nv12, cv2.COLOR_YUV2RGB_NV12).astype(int)
    assert np.abs(out[0, :180].astype(int) - ref).mean() < 1.0
    assert np.array_equal(out[1, :180], rgb)
    metas = buf.batch_meta.frame_meta_list
    assert [(m.source_id, m.batch_id, m.frame_num, m.buf_pts) for m in metas] == [(0, 0, 7, 1000), (1, 1, 3, 2000)]
    assert (metas[0].source_frame_width, metas[0].source_frame_height, metas[0].pipeline_width) == (320, 180, 320)
    # NV12 frames at the mux size stay NV12 (DeepStream's batch format); nvinfer converts them itself
    same = make_element("nvstreammux", width=320, height=180, **{"batch-size": 2})
    buf = same._make_gpu_buffer([(streammux._SourceState(k, None), frame(torch.from_numpy(nv12), 1000 + k, caps_nv12),
                                  k) for k in range(2)])
    assert tuple(buf.data.shape) == (2, 270, 320) and buf.caps.get("format") == "NV12"
    assert (buf.caps.get("width"), buf.caps.get("height"), buf.caps.features) == (320, 180, ("memory:NVMM",))
    assert np.array_equal(buf.data.numpy()[1], nv12)
    # a size change converts to RGB at the mux size
    scaled = make_element("nvstreammux", width=160, height=90, **{"batch-size": 1})
    buf = scaled._make_gpu_buffer([(streammux._SourceState(0, None), frame(torch.from_numpy(nv12), 0, caps_nv12), 0)])
    assert tuple(buf.data.shape) == (1, 90, 160, 3) and buf.caps.get("format") == "RGB"


def test_processes_sharing_a_gpu_without_mps_get_a_hint(monkeypatch, tmp_path):
    monkeypatch.setattr(gpu, "_nvidia_driver_present", lambda: True)
    monkeypatch.setenv("CUDA_MPS_PIPE_DIRECTORY", str(tmp_path))
    monkeypatch.delenv("VISTREAM_DEVICE", raising=False)
    assert not gpu.mps_running()
    assert "nvidia-cuda-mps-control -d" in gpu.shared_gpu_hint(4)
    assert gpu.shared_gpu_hint(1) is None  # one process: nothing is shared
    monkeypatch.setenv("VISTREAM_DEVICE", "cpu")
    assert gpu.shared_gpu_hint(4) is None  # the CPU path does not touch the GPU
    monkeypatch.delenv("VISTREAM_DEVICE")
    (tmp_path / "control").touch()  # the daemon's control pipe
    assert gpu.mps_running() and gpu.shared_gpu_hint(4) is None
    monkeypatch.setattr(gpu, "_nvidia_driver_present", lambda: False)
    (tmp_path / "control").unlink()
    assert gpu.shared_gpu_hint(4) is None  # no NVIDIA GPU here


def test_cuda_sync_modes_from_the_environment(monkeypatch):
    monkeypatch.delenv(gpu.SYNC_ENV, raising=False)
    assert gpu.cuda_sync_from_env() is None
    monkeypatch.setenv(gpu.SYNC_ENV, "nap")
    with pytest.raises(ValueError, match="VISTREAM_CUDA_SYNC='nap': expected one of auto, spin, yield, blocking"):
        gpu.cuda_sync_from_env()
    with pytest.raises(ValueError, match="CUDA sync mode 'fast'"):
        gpu.set_cuda_sync("fast")
    monkeypatch.setenv(gpu.SYNC_ENV, "Yield")
    assert gpu.cuda_sync_from_env() == "yield"  # applied where a driver exists, a no-op elsewhere


def test_worker_with_a_bad_cuda_sync_value_fails_naming_it(monkeypatch):
    from vistream.app.workers import run_sharded

    monkeypatch.setenv(gpu.SYNC_ENV, "sometimes")
    run = run_sharded(_noop_target, ["a", "b"], 2, interval=0, timeout=60)
    assert len(run.errors) == 2 and all("VISTREAM_CUDA_SYNC='sometimes'" in e for e in run.errors.values())


def _noop_target(ids, uris, counter):
    return len(ids)


@pytest.mark.parametrize("interp", [0, 1])
@pytest.mark.parametrize("variant", ["letterbox", "stretch_bgr_nhwc", "gray_symmetric"])
def test_nv12_preprocess_matches_converting_first_on_host_tensors(interp, variant):
    """NV12 straight into the network input (nvinfer on nvstreammux's NV12 batches) gives what converting the
    whole frames to RGB and pre-processing them gives, up to rounding; padding strips hold the pad value."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    import cv2

    from vistream.elements.video import i420_to_nv12
    from vistream.gpu.ops import NetInput, nv12_preprocess, nv12_to_rgb, preprocess

    rng = np.random.default_rng(1)
    frames = []
    for _ in range(2):
        rgb = cv2.GaussianBlur(rng.integers(0, 256, (180, 320, 3), dtype=np.uint8), (7, 7), 2)
        frames.append(i420_to_nv12(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)))
    nv12 = torch.from_numpy(np.stack(frames))
    net = {"letterbox": NetInput(128, 128, offsets=(10.0, 20.0, 30.0), scale=0.5, keep_aspect=True, pad_value=114.0,
                                 interpolation=interp),
           "stretch_bgr_nhwc": NetInput(96, 64, bgr=True, interpolation=interp, nhwc=True),
           "gray_symmetric": NetInput(100, 100, channels=1, gray=True, offsets=(0.0,), keep_aspect=True, symmetric=True,
                                      interpolation=interp)}[variant]
    got = nv12_preprocess(nv12, net, dtype=torch.float32).numpy()
    ref = preprocess(nv12_to_rgb(nv12), net, dtype=torch.float32).numpy()
    assert got.shape == ref.shape
    d = np.abs(got - ref) / net.scale  # in pixel levels
    assert d.max() <= (1.01 if interp == 0 else 2.01) and d.mean() < 0.2, (d.max(), d.mean())
    if variant == "letterbox":  # 320x180 -> 128x72 at the top, pad below
        assert (got[:, :, 72:] == (114.0 - np.array([10.0, 20.0, 30.0])[:, None, None]) * 0.5).all()
        assert got[:, :, :72].std() > 5
    if variant == "gray_symmetric":  # 100x56 centred: 22 rows above and below
        assert (got[:, :, :22] == 0).all() and (got[:, :, 78:] == 0).all() and got[:, :, 22:78].std() > 5


def test_silu_fusion_keeps_the_model_outputs_on_the_cpu(monkeypatch):
    """The converted YOLOX-nano's 104 ``x * sigmoid(x)`` pairs run as F.silu: same outputs as the graph as
    converted (VISTREAM_TORCH_FUSE=0), FP32 on the CPU."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    pytest.importorskip("onnx2torch", reason="onnx2torch is not installed")
    from vistream.infer.backends import torch_cuda

    model = str(Path(__file__).resolve().parents[2] / "samples" / "models" / "yolox_nano_416_coco.onnx")
    fused = torch_cuda.TorchCudaBackend(model, device="cpu")
    monkeypatch.setenv(torch_cuda.FUSE_ENV, "0")
    plain = torch_cuda.TorchCudaBackend(model, device="cpu")
    assert (fused.fused_ops, plain.fused_ops) == (104, 0)
    def calls(backend, kind):
        return sum(n.op == "call_module" and isinstance(backend.module.get_submodule(n.target), kind)
                   for n in backend.module.graph.nodes)

    assert (calls(plain, torch.nn.Sigmoid), calls(fused, torch.nn.Sigmoid)) == (110, 6)  # the head's 6 stay
    assert sum(n.target is torch.nn.functional.silu for n in fused.module.graph.nodes) == 104
    x = torch.rand((2, 3, 416, 416), generator=torch.Generator().manual_seed(0)) * 255
    a, b = fused.infer_tensor(x), plain.infer_tensor(x)
    for name in plain.output_names:
        assert torch.allclose(a[name], b[name], rtol=1e-4, atol=1e-3), (a[name] - b[name]).abs().max()
