"""Re-ID embeddings for the appearance tracker (DeepStream's ``ReID`` section), run with ONNX Runtime.

The default model ``person_reid_retail_0248.onnx`` takes NHWC BGR raw 0..255 crops of 128w x 256h and gives a
256-d vector; vectors are L2-normalised so that a dot product is the cosine similarity.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from vistream.track.config import ReIDConfig, TrackerConfigError


class ReIDEmbedder:
    """Crop boxes out of an RGB frame and embed them.

    >>> emb = ReIDEmbedder("person_reid_retail_0248.onnx")  # doctest: +SKIP
    >>> emb(frame_rgb, np.array([[10, 20, 60, 140]])).shape  # doctest: +SKIP
    (1, 256)
    """

    def __init__(self, model_path: str, cfg: ReIDConfig | None = None, threads: int = 1,
                 providers: list[str] | None = None) -> None:
        import onnxruntime as ort

        self.cfg = cfg or ReIDConfig()
        if not model_path or not os.path.isfile(model_path):
            raise TrackerConfigError(f"ReID.onnxFile: re-ID model {model_path!r} not found")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(model_path, opts, providers=providers or ["CPUExecutionProvider"])
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.fixed_batch = isinstance(inp.shape[0], int) and inp.shape[0] > 0
        dims = tuple(int(d) for d in self.cfg.infer_dims)
        # inferDims are HWC for inputOrder 1 (NHWC) and CHW for 0 (NCHW), as in DeepStream
        self.height, self.width = (dims[0], dims[1]) if self.cfg.input_order == 1 else (dims[1], dims[2])
        self.offsets = np.asarray(self.cfg.offsets, np.float32)
        self.scale = np.float32(self.cfg.net_scale_factor)

    def preprocess(self, frame_rgb: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
        """``(N, H, W, 3)`` or ``(N, 3, H, W)`` float32 network input for the boxes."""
        h, w = frame_rgb.shape[:2]
        out = np.empty((len(xyxy), self.height, self.width, 3), np.float32)
        boxes = np.asarray(xyxy, np.float64)
        x1 = np.clip(np.floor(boxes[:, 0]), 0, w - 2).astype(int)
        y1 = np.clip(np.floor(boxes[:, 1]), 0, h - 2).astype(int)
        x2 = np.clip(np.ceil(boxes[:, 2]), x1 + 2, w).astype(int)
        y2 = np.clip(np.ceil(boxes[:, 3]), y1 + 2, h).astype(int)
        for i in range(len(boxes)):
            crop = frame_rgb[y1[i]:y2[i], x1[i]:x2[i]]
            if self.cfg.keep_aspc:
                crop = self._pad_to_aspect(crop)
            out[i] = cv2.resize(crop, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        if self.cfg.color_format == 1:
            out = out[..., ::-1]
        out = (out - self.offsets) * self.scale
        if self.cfg.input_order == 0:
            out = out.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(out)

    def _pad_to_aspect(self, crop: np.ndarray) -> np.ndarray:
        """Pad (bottom or right, with zeros) to the network's aspect ratio: DeepStream's ``keepAspc``."""
        h, w = crop.shape[:2]
        target = self.width / self.height
        if w / h > target:
            return cv2.copyMakeBorder(crop, 0, int(round(w / target)) - h, 0, 0, cv2.BORDER_CONSTANT, value=0)
        return cv2.copyMakeBorder(crop, 0, 0, 0, int(round(h * target)) - w, cv2.BORDER_CONSTANT, value=0)

    def __call__(self, frame_rgb: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
        """L2-normalised embeddings ``(N, D)`` of the boxes ``xyxy`` in ``frame_rgb`` (HxWx3 uint8 RGB)."""
        if len(xyxy) == 0:
            return np.zeros((0, self.cfg.reid_feature_size), np.float32)
        x = self.preprocess(frame_rgb, xyxy)
        if self.fixed_batch:
            feats = np.concatenate([self.session.run(None, {self.input_name: x[i:i + 1]})[0]
                                    for i in range(len(x))])
        else:
            feats = self.session.run(None, {self.input_name: x})[0]
        feats = feats.reshape(len(x), -1).astype(np.float32)
        if self.cfg.add_feature_normalization:
            feats /= np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
        return feats
