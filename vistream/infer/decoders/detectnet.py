"""DetectNet_v2 grid decoder (TrafficCamNet, PeopleNet, DashCamNet ...): coverage + bbox tensors.

``cov`` is ``[C, GH, GW]`` (one confidence per class and grid cell); ``bbox`` is ``[4C, GH, GW]`` with, per class,
the distances x1, y1, x2, y2 from the cell centre in units of ``box_norm`` pixels. As in DeepStream:
``centre = (i * stride + 0.5) / box_norm``, ``x1 = (centre_x - dx1) * box_norm``,
``x2 = (centre_x + dx2) * box_norm``; ``stride = ceil(net / grid)``; boxes are clipped to the network input.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from vistream.infer.types import NetworkInfo

BOX_NORM = 35.0


def find_detectnet_layers(shapes: Mapping[str, tuple], num_classes: int = 0) -> tuple[str, str] | None:
    """Names of (coverage, bbox) layers: two rank-3 outputs on the same grid with channels C and 4C."""
    if len(shapes) != 2:
        return None
    (na, sa), (nb, sb) = shapes.items()
    if len(sa) != 3 or len(sb) != 3 or sa[1:] != sb[1:] or None in sa or None in sb:
        return None
    if sb[0] == 4 * sa[0] and (num_classes in (0, sa[0])):
        return na, nb
    if sa[0] == 4 * sb[0] and (num_classes in (0, sb[0])):
        return nb, na
    return None


def decode_detectnet_v2(outputs: Mapping[str, np.ndarray], net: NetworkInfo, num_classes: int, min_score: float,
                        box_norm: float = BOX_NORM) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    names = find_detectnet_layers({k: v.shape for k, v in outputs.items()}, num_classes)
    if names is None:
        raise ValueError("DetectNet_v2 decoder needs a coverage [C,H,W] and a bbox [4C,H,W] output; got "
                         + ", ".join(f"{k}{list(v.shape)}" for k, v in outputs.items()))
    cov, bbox = outputs[names[0]], outputs[names[1]]
    c, gh, gw = cov.shape
    stride_x = -(-net.width // gw)
    stride_y = -(-net.height // gh)
    cx = (np.arange(gw, dtype=np.float32) * stride_x + 0.5) / box_norm
    cy = (np.arange(gh, dtype=np.float32) * stride_y + 0.5) / box_norm
    cls, ys, xs = np.nonzero(cov >= min_score)
    if len(cls) == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    b = bbox.reshape(c, 4, gh, gw)[cls, :, ys, xs]  # (N, 4)
    xyxy = np.stack([(cx[xs] - b[:, 0]) * box_norm, (cy[ys] - b[:, 1]) * box_norm,
                     (cx[xs] + b[:, 2]) * box_norm, (cy[ys] + b[:, 3]) * box_norm], axis=1)
    np.clip(xyxy[:, 0::2], 0, net.width, out=xyxy[:, 0::2])
    np.clip(xyxy[:, 1::2], 0, net.height, out=xyxy[:, 1::2])
    return xyxy.astype(np.float32), cov[cls, ys, xs].astype(np.float32), cls.astype(np.int64)
