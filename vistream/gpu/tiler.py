"""nvmultistreamtiler on the GPU: the batch is scaled into its tiles with one batched operation and composited on
a canvas in GPU memory; only the mosaic leaves the GPU (when an OSD, encoder or display needs its pixels).

The layout and the metadata are :class:`vistream.elements.tiler.Tiler`'s, so they match the CPU path exactly.
"""

from __future__ import annotations

import torch

from vistream.elements.tiler import Tiler
from vistream.elements.video import canonical_format
from vistream.gpu.convert import batch_frame_size, interpolation_id
from vistream.gpu.ops import nv12_to_rgb, resize_rgb
from vistream.meta import BatchMeta

_PACKED = ("RGB", "BGR", "RGBA", "BGRA")


def gpu_tileable(fmt: str) -> bool:
    """Whether a GPU batch in ``fmt`` is tiled on the GPU (NV12 gives an RGB mosaic; GRAY8/I420 tile on the host)."""
    return canonical_format(fmt) in (*_PACKED, "NV12")


def composite_gpu(tiler: Tiler, frames: torch.Tensor, fmt: str,
                  batch_meta: BatchMeta | None) -> tuple[torch.Tensor, BatchMeta]:
    """:meth:`Tiler.composite` for a GPU batch (packed ``(B, H, W, C)`` or NV12 ``(B, H*3/2, W)``): returns the
    ``(H, W, C)`` mosaic as a tensor on the batch's device and the metadata in tile coordinates."""
    nv12 = canonical_format(fmt) == "NV12"
    out_fmt = "RGB" if nv12 else fmt
    channels = 3 if nv12 else frames.shape[-1]
    key = (out_fmt, tiler.width, tiler.height, tiler.rows, tiler.columns, tiler.show_source, frames.device)
    if tiler.gpu_canvas is None or tiler.gpu_canvas_key != key:
        tiler.gpu_canvas = torch.zeros((tiler.height, tiler.width, channels), dtype=torch.uint8, device=frames.device)
        tiler.gpu_canvas_key = key
    canvas = tiler.gpu_canvas
    out_meta, shown = tiler.layout(len(frames), batch_meta)
    if shown:
        fw, fh = batch_frame_size(frames, fmt)
        _, _, tw, th = shown[0][1]  # every tile has one size (show-source: the one tile is the whole frame)
        picked = frames[[fm.batch_id for fm, _ in shown]]
        interp = interpolation_id(tiler.interpolation)
        tiles = (nv12_to_rgb(picked, tw, th, interpolation=interp) if nv12
                 else resize_rgb(picked, tw, th, interpolation=interp))
        for k, (fm, (x, y, w, h)) in enumerate(shown):
            canvas[y:y + h, x:x + w] = tiles[k]
            if batch_meta is not None:
                out_meta.frame_meta_list.append(tiler.tile_meta(fm, fw, fh, (x, y, w, h)))
    return canvas.clone(), out_meta  # downstream draws on the copy; the canvas keeps the clean tiles
