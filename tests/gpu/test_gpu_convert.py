"""nvvideoconvert on the GPU: the batch converter against the CPU converter (on host tensors wherever PyTorch is
installed, and on CUDA where a GPU is), and the element keeping NVMM batches in GPU memory."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.elements.element_helpers import run_through
from vistream import Buffer, Caps, make_element
from vistream.elements import convert as convert_mod
from vistream.elements import video as video_mod
from vistream.elements.convert import VideoConverter
from vistream.elements.video import i420_to_nv12
from vistream.meta import BatchMeta, FrameMeta, make_object

torch = pytest.importorskip("torch", reason="PyTorch is not installed")


def _frames(n: int = 2, w: int = 320, h: int = 180) -> np.ndarray:
    rng = np.random.default_rng(3)
    out = [cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (7, 7), 2) for _ in range(n)]
    return np.stack(out)


def _as(rgb: np.ndarray, fmt: str) -> np.ndarray:
    if fmt == "NV12":
        return np.stack([i420_to_nv12(cv2.cvtColor(f, cv2.COLOR_RGB2YUV_I420)) for f in rgb])
    if fmt == "RGBA":  # a non-constant alpha: it must travel with the pixels
        return np.concatenate([rgb, rgb[..., :1] // 2 + 7], axis=-1)
    if fmt == "GRAY8":
        return np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in rgb])
    return rgb[..., ::-1].copy() if fmt == "BGR" else rgb


# (input format, output format, VideoConverter arguments, exact): exact where no scaling or colour maths differ
CASES = [
    ("RGB", "BGRx", {}, True),
    ("RGBA", "BGR", {}, True),
    ("RGBA", "RGBA", {"width": 160, "height": 90, "interpolation": cv2.INTER_NEAREST}, True),
    ("BGR", "GRAY8", {"src_crop": (10, 20, 200, 100), "flip_method": 3}, True),
    ("GRAY8", "RGBA", {"flip_method": 5}, True),
    ("RGB", "RGB", {"flip_method": 7, "dest_crop": (8, 4, 90, 160), "width": 200, "height": 320,
                    "interpolation": cv2.INTER_NEAREST}, True),
    ("RGB", "RGB", {"flip_method": 7, "dest_crop": (8, 4, 100, 150), "width": 200, "height": 320}, False),
    ("RGB", "RGBA", {"width": 200, "height": 120}, False),
    ("BGR", "RGB", {"width": 640, "height": 360, "interpolation": cv2.INTER_CUBIC}, False),
    ("NV12", "RGBA", {}, False),
    ("NV12", "BGR", {"width": 640, "height": 360}, False),
    ("NV12", "RGB", {"src_crop": (40, 30, 160, 90), "flip_method": 1, "width": 90, "height": 160}, False),
] + [("RGB", "RGB", {"flip_method": k}, True) for k in range(1, 8)]


@pytest.mark.parametrize(("src", "dst", "kw", "exact"), CASES)
def test_gpu_batch_conversion_matches_the_cpu_converter(device, src, dst, kw, exact):
    from vistream.gpu.convert import convert_gpu_batch

    frames = _as(_frames(), src)
    conv = VideoConverter(dst, **kw)
    ref = [conv.convert_frame(f, src) for f in frames]
    out, m = convert_gpu_batch(conv, torch.from_numpy(frames).to(device), src)
    got = out.cpu().numpy()
    assert got.dtype == np.uint8 and got.shape == (len(frames), *ref[0][0].shape)
    assert np.array_equal(m, ref[0][1])  # the same geometry: metadata moves as on the CPU path
    diff = np.abs(got.astype(int) - np.stack([r for r, _ in ref]).astype(int))
    if exact:
        assert diff.max() == 0
    else:  # interpolation and colour maths in float instead of OpenCV's fixed point; NV12 is scaled before
        # the conversion (chroma from its own resolution) where OpenCV converts at full size first
        assert diff.mean() < (1.5 if src == "NV12" else 1.0) and np.percentile(diff, 99.9) <= (6 if src == "NV12" else 4), (
            diff.mean(), diff.max())


@pytest.fixture
def tensors_as_gpu(monkeypatch):
    """Host tensors taken for CUDA batches by the element and the download helpers."""
    as_gpu = lambda d: isinstance(d, torch.Tensor)  # noqa: E731
    monkeypatch.setattr(convert_mod, "is_gpu_data", as_gpu)
    monkeypatch.setattr(video_mod, "is_gpu_data", as_gpu)


def _run(buffers, caps: str) -> list[Buffer]:
    return run_through([make_element("nvvideoconvert")], buffers, caps)


def test_element_keeps_nvmm_batches_on_the_device_and_moves_the_metadata(tensors_as_gpu):
    """An NVMM NV12 batch converted to NVMM RGBA at twice the size stays a tensor (here a host tensor standing
    in for a CUDA one), boxes scaled with it; caps without memory:NVMM get host frames, as in DeepStream."""
    rgb = _frames(2)
    nv12 = torch.from_numpy(_as(rgb, "NV12"))

    def batch():
        metas = []
        for i in range(2):
            fm = FrameMeta(source_id=i, batch_id=i, frame_num=0, source_frame_width=320, source_frame_height=180)
            fm.obj_meta_list.append(make_object(100, 50, 40, 20, class_id=2, confidence=0.9, label="car"))
            metas.append(fm)
        caps = Caps("video/x-raw", ("memory:NVMM",), format="NV12", width=320, height=180)
        return Buffer(nv12.clone(), pts=0, caps=caps, batch_meta=BatchMeta(2, metas))

    (gpu,) = _run([batch()], "video/x-raw(memory:NVMM),format=RGBA,width=640,height=360")
    assert isinstance(gpu.data, torch.Tensor) and tuple(gpu.data.shape) == (2, 360, 640, 4)
    assert gpu.caps.is_nvmm and (gpu.caps["format"], gpu.caps["width"], gpu.caps["height"]) == ("RGBA", 640, 360)
    r = gpu.batch_meta.frame_meta_list[1].obj_meta_list[0].rect_params
    assert (r.left, r.top, r.width, r.height) == (200, 100, 80, 40)
    ref = cv2.resize(cv2.cvtColor(_as(rgb, "NV12")[1], cv2.COLOR_YUV2RGBA_NV12), (640, 360))
    assert np.abs(gpu.data[1].numpy().astype(int) - ref).mean() < 1.5

    (host,) = _run([batch()], "video/x-raw,format=RGBA,width=640,height=360")
    assert isinstance(host.data, np.ndarray) and host.data.shape == (2, 360, 640, 4) and not host.caps.is_nvmm
    assert np.abs(host.data.astype(int) - gpu.data.numpy()).mean() < 1.5

    (same,) = _run([batch()], "video/x-raw(memory:NVMM),format=NV12")  # nothing to do: passed through
    assert isinstance(same.data, torch.Tensor) and torch.equal(same.data, nv12)


def test_element_without_caps_filter_keeps_the_batch_where_it_is(tensors_as_gpu):
    """No caps filter after the element: the input's memory is kept; a flip of an NVMM RGB batch stays a tensor,
    an NV12 output (converted on the host) comes back as host frames without memory:NVMM."""
    rgb = _frames(2)
    caps = Caps("video/x-raw", ("memory:NVMM",), format="RGB", width=320, height=180)
    (out,) = run_through([make_element("nvvideoconvert", **{"flip-method": "rotate-180"})],
                         [Buffer(torch.from_numpy(rgb), pts=0, caps=caps)])
    assert isinstance(out.data, torch.Tensor) and out.caps.is_nvmm
    assert np.array_equal(out.data.numpy(), rgb[:, ::-1, ::-1])
    nv12 = Caps("video/x-raw", ("memory:NVMM",), format="NV12", width=320, height=180)
    (out,) = run_through([make_element("nvvideoconvert", **{"flip-method": "rotate-180"})],
                         [Buffer(torch.from_numpy(_as(rgb, "NV12")), pts=0, caps=nv12)])
    assert isinstance(out.data, np.ndarray) and out.data.shape == (2, 270, 320) and not out.caps.is_nvmm
