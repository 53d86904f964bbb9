"""SSD-style decoded outputs: ``boxes [N, 4]`` (normalised x1, y1, x2, y2) + ``scores [N, C]`` or ``[N, C+1]``.

When the score tensor has one column more than ``num-detected-classes``, column 0 is background and is
dropped (UltraFace: ``scores[:, 1]`` is the face score). Each anchor takes its best class.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from vistream.infer.types import NetworkInfo


def find_ssd_layers(shapes: Mapping[str, tuple]) -> tuple[str, str] | None:
    """Names of (boxes, scores): two rank-2 outputs with the same N, boxes having 4 columns."""
    if len(shapes) != 2:
        return None
    (na, sa), (nb, sb) = shapes.items()
    if len(sa) != 2 or len(sb) != 2 or sa[0] != sb[0]:
        return None
    if sa[1] == 4 and sb[1] != 4:
        return na, nb
    if sb[1] == 4 and sa[1] != 4:
        return nb, na
    if "box" in na.lower():
        return na, nb
    if "box" in nb.lower():
        return nb, na
    return None


def decode_ssd(outputs: Mapping[str, np.ndarray], net: NetworkInfo, num_classes: int, min_score: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    names = find_ssd_layers({k: v.shape for k, v in outputs.items()})
    if names is None:
        raise ValueError("SSD decoder needs boxes [N,4] and scores [N,C] outputs; got "
                         + ", ".join(f"{k}{list(v.shape)}" for k, v in outputs.items()))
    boxes, scores = outputs[names[0]], outputs[names[1]]
    if num_classes and scores.shape[1] == num_classes + 1 or (not num_classes and scores.shape[1] == 2):
        scores = scores[:, 1:]
    cls = np.argmax(scores, axis=1)
    conf = scores[np.arange(len(scores)), cls]
    m = conf >= min_score
    xyxy = boxes[m].astype(np.float32) * np.array([net.width, net.height, net.width, net.height], np.float32)
    return xyxy, conf[m].astype(np.float32), cls[m].astype(np.int64)
