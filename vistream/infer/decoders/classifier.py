"""Softmax classifier decoder: one attribute per output layer (DeepStream's multi-output classifiers)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vistream.meta import LabelInfo


def decode_classifier(layers: Sequence[np.ndarray], labels: Sequence[Sequence[str]], threshold: float) -> list[LabelInfo]:
    """For each output layer ``i`` the best class, kept when its probability exceeds ``threshold``.

    ``labels[i]`` are the labels of layer ``i`` (a line of the ``;``-separated label file). Outputs must already
    be probabilities (a softmax in the model), as DeepStream expects.
    """
    out = []
    for i, t in enumerate(layers):
        p = np.asarray(t, np.float32).reshape(-1)
        c = int(np.argmax(p))
        prob = float(p[c])
        if prob <= threshold:
            continue
        names = labels[i] if i < len(labels) else []
        out.append(LabelInfo(result_label=names[c] if c < len(names) else str(c), result_class_id=c,
                             result_prob=prob, label_id=i, num_classes=len(p)))
    return out
