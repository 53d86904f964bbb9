"""The loop a user would write by hand: OpenCV capture → ONNX Runtime (batch 1) → draw → VideoWriter.

Used by ``compare.py`` as the baseline; it decodes YOLOX-Nano exactly as the model's provenance describes
(top-left letterbox with grey 114, BGR 0..255, grid decode, class-wise NMS 0.45, score 0.3).
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "samples" / "models" / "yolox_nano_416_coco.onnx"
SIZE = 416


def _grid() -> tuple[np.ndarray, np.ndarray]:
    grids, strides = [], []
    for s in (8, 16, 32):
        n = SIZE // s
        yv, xv = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        grids.append(np.stack((xv, yv), 2).reshape(-1, 2))
        strides.append(np.full((n * n, 1), s))
    return np.concatenate(grids).astype(np.float32), np.concatenate(strides).astype(np.float32)


GRID, STRIDES = _grid()


def detect(session: ort.InferenceSession, frame_bgr: np.ndarray) -> list[tuple[int, float, np.ndarray]]:
    """YOLOX-Nano on one BGR frame: ``[(class_id, score, xyxy)]`` in frame pixels."""
    h, w = frame_bgr.shape[:2]
    r = min(SIZE / h, SIZE / w)
    canvas = np.full((SIZE, SIZE, 3), 114, np.uint8)
    canvas[: int(h * r), : int(w * r)] = cv2.resize(frame_bgr, (int(w * r), int(h * r)), interpolation=cv2.INTER_LINEAR)
    blob = canvas.transpose(2, 0, 1)[None].astype(np.float32)
    out = session.run(None, {session.get_inputs()[0].name: blob})[0][0]
    xy = (out[:, :2] + GRID) * STRIDES
    wh = np.exp(out[:, 2:4]) * STRIDES
    boxes = np.concatenate([xy - wh / 2, xy + wh / 2], 1) / r
    scores_all = out[:, 4:5] * out[:, 5:]
    cls = scores_all.argmax(1)
    scores = scores_all[np.arange(len(cls)), cls]
    keep = scores > 0.3
    boxes, scores, cls = boxes[keep], scores[keep], cls[keep]
    result = []
    for c in np.unique(cls):
        idx = np.flatnonzero(cls == c)
        b = boxes[idx]
        xywh = np.c_[b[:, :2], b[:, 2:] - b[:, :2]]
        kept = cv2.dnn.NMSBoxes(xywh.tolist(), scores[idx].tolist(), 0.3, 0.45)
        for k in np.array(kept).reshape(-1):
            result.append((int(c), float(scores[idx[k]]), b[k]))
    return result


def run(clips: list[str], output_dir: Path, threads: int | None = None) -> dict:
    """Process each clip sequentially; returns frames, seconds and per-frame detections."""
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    session = ort.InferenceSession(str(MODEL), opts, providers=["CPUExecutionProvider"])
    frames, dets = 0, []
    t0 = time.perf_counter()
    for i, clip in enumerate(clips):
        cap = cv2.VideoCapture(clip)
        fps = cap.get(cv2.CAP_PROP_FPS) or 25
        writer = None
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            found = detect(session, frame)
            dets.append(found)
            for c, s, b in found:
                x1, y1, x2, y2 = (int(v) for v in b)
                cv2.rectangle(frame, (x1, y1), (x2, y2), (0, 0, 255), 2)
                cv2.putText(frame, f"{c} {s:.2f}", (x1, max(10, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255))
            if writer is None:
                h, w = frame.shape[:2]
                writer = cv2.VideoWriter(str(output_dir / f"naive_{i}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
            writer.write(frame)
            frames += 1
        cap.release()
        if writer is not None:
            writer.release()
    return {"frames": frames, "seconds": time.perf_counter() - t0, "detections": dets}
