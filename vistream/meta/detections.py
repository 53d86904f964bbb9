"""Vectorised view of a frame's objects: parallel NumPy arrays (the fast path next to the object list)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from vistream.meta.batch import UNTRACKED_OBJECT_ID, ObjectMeta, make_object


@dataclass
class Detections:
    """Objects of one frame as arrays.

    >>> d = Detections(xyxy=np.array([[10, 20, 50, 80]], np.float32), confidence=np.array([0.9]),
    ...                class_id=np.array([0]))
    >>> len(d), d.wh[0].tolist()
    (1, [40.0, 60.0])
    """

    xyxy: np.ndarray
    confidence: np.ndarray | None = None
    class_id: np.ndarray | None = None
    tracker_id: np.ndarray | None = None
    data: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.xyxy = np.asarray(self.xyxy, np.float32).reshape(-1, 4)
        n = len(self.xyxy)
        if self.confidence is None:
            self.confidence = np.ones(n, np.float32)
        if self.class_id is None:
            self.class_id = np.zeros(n, np.int64)
        self.confidence = np.asarray(self.confidence, np.float32).reshape(-1)
        self.class_id = np.asarray(self.class_id, np.int64).reshape(-1)
        if self.tracker_id is not None:
            self.tracker_id = np.asarray(self.tracker_id, np.int64).reshape(-1)
        for name in ("confidence", "class_id", "tracker_id"):
            arr = getattr(self, name)
            if arr is not None and len(arr) != n:
                raise ValueError(f"Detections.{name} has {len(arr)} entries but xyxy has {n} boxes")

    def __len__(self) -> int:
        return len(self.xyxy)

    @property
    def wh(self) -> np.ndarray:
        return self.xyxy[:, 2:4] - self.xyxy[:, 0:2]

    @property
    def ltwh(self) -> np.ndarray:
        out = self.xyxy.copy()
        out[:, 2:4] -= out[:, 0:2]
        return out

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32))

    @classmethod
    def from_objects(cls, objs: Iterable[ObjectMeta]) -> Detections:
        objs = list(objs)
        n = len(objs)
        xyxy = np.empty((n, 4), np.float32)
        conf = np.empty(n, np.float32)
        cls_id = np.empty(n, np.int64)
        tid = np.empty(n, np.int64)
        for i, o in enumerate(objs):
            r = o.rect_params
            xyxy[i] = (r.left, r.top, r.left + r.width, r.top + r.height)
            conf[i] = o.confidence
            cls_id[i] = o.class_id
            tid[i] = -1 if o.object_id == UNTRACKED_OBJECT_ID else o.object_id
        return cls(xyxy, conf, cls_id, tid)

    def to_objects(self, labels: list[str] | None = None, component_id: int = -1) -> list[ObjectMeta]:
        """Build DeepStream-style :class:`ObjectMeta` objects from the arrays."""
        out = []
        for i in range(len(self)):
            x1, y1, x2, y2 = (float(v) for v in self.xyxy[i])
            c = int(self.class_id[i])
            label = labels[c] if labels is not None and 0 <= c < len(labels) else str(c)
            om = make_object(x1, y1, x2 - x1, y2 - y1, class_id=c, confidence=float(self.confidence[i]),
                             label=label, component_id=component_id)
            if self.tracker_id is not None and self.tracker_id[i] >= 0:
                om.object_id = int(self.tracker_id[i])
            out.append(om)
        return out

    def __getitem__(self, index) -> Detections:
        tid = None if self.tracker_id is None else self.tracker_id[index]
        return Detections(self.xyxy[index], self.confidence[index], self.class_id[index], tid,
                          {k: v[index] for k, v in self.data.items()})
