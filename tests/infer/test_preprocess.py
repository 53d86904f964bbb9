"""Pre-processing: letterbox geometry and its exact inverse, colour order, normalisation, NHWC, grey."""

from __future__ import annotations

import numpy as np

from vistream.infer.config import InferConfig
from vistream.infer.preprocess import Preprocessor


def _image():
    img = np.zeros((100, 200, 3), np.uint8)
    img[..., 0] = 200  # R
    img[..., 1] = 100  # G
    img[..., 2] = 50  # B
    return img


def test_symmetric_letterbox_bgr_and_inverse_transform():
    cfg = InferConfig(model_color_format=1, maintain_aspect_ratio=1, symmetric_padding=1, pad_value=114,
                      offsets=[10, 20, 30], net_scale_factor=0.5)
    pre = Preprocessor(cfg, 64, 64, 3, nhwc=False)
    batch, (tf,) = pre([_image()])
    assert batch.shape == (1, 3, 64, 64)
    # 200x100 -> 64x32, centred vertically: rows 16..47 hold the image
    assert (tf.scale_x, tf.scale_y, tf.pad_x, tf.pad_y) == (0.32, 0.32, 0, 16)
    # channel 0 is B (BGR), normalised with offsets[0]
    assert np.allclose(batch[0, :, 30, 30], [(50 - 10) * 0.5, (100 - 20) * 0.5, (200 - 30) * 0.5])
    assert np.allclose(batch[0, :, 5, 30], [(114 - 10) * 0.5, (114 - 20) * 0.5, (114 - 30) * 0.5])
    assert np.allclose(batch[0, :, 60, 30], batch[0, :, 5, 30])
    # a box in network pixels maps back exactly to frame pixels
    assert np.allclose(tf.to_frame(np.array([[16, 24, 32, 40]], np.float32)), [[50, 25, 100, 75]])


def test_top_left_letterbox_nhwc_rgb_and_reuse_of_the_batch():
    cfg = InferConfig(maintain_aspect_ratio=1, offsets=[127.5], net_scale_factor=1 / 127.5)
    pre = Preprocessor(cfg, 50, 50, 3, nhwc=True)
    b1, (tf,) = pre([_image()])
    assert b1.shape == (1, 50, 50, 3) and (tf.pad_x, tf.pad_y) == (0, 0)
    assert np.allclose(b1[0, 10, 10], np.array([200, 100, 50]) / 127.5 - 1, atol=1e-6)
    assert np.allclose(b1[0, 40, 10], -1.0)  # pad 0 -> (0 - 127.5) / 127.5
    b2, _ = pre([_image(), _image()])  # grows the buffer once
    assert np.array_equal(b2[0], b2[1])
    b3, _ = pre([_image()])
    assert np.shares_memory(b3, b2)  # later, smaller batches reuse it


def test_grey_and_roi_crop_offsets():
    cfg = InferConfig(model_color_format=2)
    pre = Preprocessor(cfg, 20, 10, 1, nhwc=False)
    img = _image()
    batch, (tf,) = pre([img], [(40, 20, 80, 40)])
    grey = 0.299 * 200 + 0.587 * 100 + 0.114 * 50
    assert batch.shape == (1, 1, 10, 20) and abs(batch[0, 0, 5, 5] - grey) <= 1
    # crop 40x20 -> 20x10: scale 0.5, frame offset (40, 20)
    assert np.allclose(tf.to_frame(np.array([[0, 0, 20, 10]], np.float32)), [[40, 20, 80, 40]])
    # boxes outside the crop are clipped to it
    assert np.allclose(tf.to_frame(np.array([[-5, -5, 30, 30]], np.float32)), [[40, 20, 80, 40]])


def test_to_frame_many_equals_each_transform():
    from vistream.infer.preprocess import Transform

    rng = np.random.default_rng(1)
    tfs = [Transform(0.4, 0.4, 0.0, 26.0, 0, 0, 640, 360), Transform(0.5, 0.25, 3.0, 1.0, 100, 50, 200, 300),
           Transform(1.0, 1.0)]
    xyxy = rng.uniform(-20, 500, (40, 4)).astype(np.float32)
    index = np.sort(rng.integers(0, 3, 40))
    out = Transform.to_frame_many(xyxy, tfs, index)
    for k, tf in enumerate(tfs):
        assert np.array_equal(out[index == k], tf.to_frame(xyxy[index == k]))
    assert np.array_equal(Transform.to_frame_many(xyxy, [tfs[1]] * 3, index), tfs[1].to_frame(xyxy))
