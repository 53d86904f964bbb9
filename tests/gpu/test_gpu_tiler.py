"""nvmultistreamtiler on the GPU: the mosaic and its metadata against the CPU tiler (on host tensors wherever
PyTorch is installed, on CUDA where a GPU is), and the element keeping an NVMM batch's mosaic in GPU memory."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.elements.element_helpers import run_through
from vistream import Buffer, Caps, make_element
from vistream.elements import tiler as tiler_mod
from vistream.elements.tiler import Tiler
from vistream.elements.video import i420_to_nv12
from vistream.meta import BatchMeta, FrameMeta, make_object

torch = pytest.importorskip("torch", reason="PyTorch is not installed")


def _batch(source_ids, fmt="RGB", w=320, h=180):
    rng = np.random.default_rng(5)
    rgb = np.stack([cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (7, 7), 2)
                    for _ in source_ids])
    if fmt == "NV12":
        frames = np.stack([i420_to_nv12(cv2.cvtColor(f, cv2.COLOR_RGB2YUV_I420)) for f in rgb])
    elif fmt == "BGRA":
        frames = np.concatenate([rgb[..., ::-1], np.full(rgb.shape[:3] + (1,), 255, np.uint8)], axis=-1)
    else:
        frames = rgb
    metas = []
    for i, s in enumerate(source_ids):
        fm = FrameMeta(source_id=s, pad_index=s, batch_id=i, frame_num=3)
        fm.add_obj_meta(make_object(40 + s, 20, 80, 60, label=f"src{s}"))
        metas.append(fm)
    return frames, BatchMeta(len(metas), metas)


def _boxes(meta: BatchMeta):
    return [(fm.source_id, fm.batch_id, [(o.rect_params.left, o.rect_params.top, o.rect_params.width,
                                          o.rect_params.height) for o in fm.obj_meta_list])
            for fm in meta.frame_meta_list]


@pytest.mark.parametrize(("fmt", "layout", "sources"), [
    ("RGB", dict(rows=2, columns=2, width=640, height=360), [2, 0, 3, 1]),  # tiles at the frame size: exact
    ("RGB", dict(rows=2, columns=3, width=600, height=300), [4, 1, 0]),  # scaled, missing tiles stay black
    ("BGRA", dict(rows=1, columns=2, width=400, height=100), [1, 0, 5]),  # source 5 has no tile
    ("NV12", dict(rows=2, columns=2, width=640, height=360), [0, 1, 2, 3]),
    ("RGB", dict(rows=2, columns=2, width=640, height=360, show_source=1), [0, 1, 2]),
])
def test_gpu_mosaic_and_metadata_match_the_cpu_tiler(device, fmt, layout, sources):
    from vistream.gpu.tiler import composite_gpu

    frames, meta = _batch(sources, fmt)
    ref, ref_meta = Tiler(**layout).composite(frames, fmt, meta)
    got, got_meta = composite_gpu(Tiler(**layout), torch.from_numpy(frames).to(device), fmt, meta)
    assert got.device == device and tuple(got.shape) == ref.shape
    assert _boxes(got_meta) == _boxes(ref_meta)
    diff = np.abs(got.cpu().numpy().astype(int) - ref.astype(int))
    exact = fmt != "NV12" and layout["width"] == 640 and "show_source" not in layout
    assert diff.max() == 0 if exact else (diff.mean() < 1.0 and np.percentile(diff, 99.9) <= 6), diff.max()


def test_a_missing_source_keeps_its_last_picture_on_the_gpu(device):
    from vistream.gpu.tiler import composite_gpu

    tiler = Tiler(1, 2, 640, 180)
    frames, meta = _batch([0, 1])
    composite_gpu(tiler, torch.from_numpy(frames).to(device), "RGB", meta)
    only0, meta0 = _batch([0])
    got, _ = composite_gpu(tiler, torch.from_numpy(only0).to(device) // 2, "RGB", meta0)
    got = got.cpu().numpy()
    assert np.array_equal(got[:, 320:], frames[1]) and np.array_equal(got[:, :320], only0[0] // 2)


def test_element_tiles_an_nvmm_batch_into_an_nvmm_mosaic(monkeypatch):
    monkeypatch.setattr(tiler_mod, "is_gpu_data", lambda d: isinstance(d, torch.Tensor))
    frames, meta = _batch([1, 0], "NV12")
    buf = Buffer(torch.from_numpy(frames), pts=9, caps=Caps("video/x-raw", ("memory:NVMM",), format="NV12",
                                                            width=320, height=180), batch_meta=meta)
    (out,) = run_through([make_element("nvmultistreamtiler", rows=1, columns=2, width=640, height=180)], [buf])
    assert isinstance(out.data, torch.Tensor) and tuple(out.data.shape) == (1, 180, 640, 3) and out.pts == 9
    assert out.caps.is_nvmm and (out.caps["format"], out.caps["width"], out.caps["height"]) == ("RGB", 640, 180)
    r = out.batch_meta.frame_meta_list[1].obj_meta_list[0].rect_params  # source 1: the right-hand tile
    assert (r.left, r.top) == (320 + 41, 20)
