"""Re-ID embeddings of real people (TUD-Stadtmitte frames decoded with PyAV, ground-truth boxes)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from vistream.track import load_tracker_config
from vistream.track.evaluate import iter_video_frames
from vistream.track.mot import read_mot_txt
from vistream.track.reid import ReIDEmbedder

from .conftest import CONFIGS, MOT


@pytest.fixture(scope="module")
def embedder():
    cfg = load_tracker_config(CONFIGS / "config_tracker_NvDeepSORT.yml")
    return ReIDEmbedder(cfg.reid.onnx_file, cfg.reid)


def test_same_person_is_more_similar_than_different_people(embedder):
    seq = MOT / "TUD-Stadtmitte"
    gt = read_mot_txt(seq / "gt.txt")
    frames = dict(itertools.islice(enumerate(iter_video_frames(seq / "TUD-Stadtmitte.mp4")), 61))
    assert frames[20].shape == (480, 640, 3) and frames[20].dtype == np.uint8
    feats = {}
    for mot_frame in (21, 61):  # decoded frame k is MOT frame k+1
        rows = gt[gt[:, 0] == mot_frame]
        xyxy = rows[:, 2:6].copy()
        xyxy[:, 2:4] += xyxy[:, :2]
        emb = embedder(frames[mot_frame - 1], xyxy)
        assert emb.shape == (len(rows), 256)
        np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
        feats[mot_frame] = dict(zip(rows[:, 1].astype(int).tolist(), emb, strict=True))
    common = sorted(set(feats[21]) & set(feats[61]))
    assert len(common) >= 5
    same = np.mean([feats[21][i] @ feats[61][i] for i in common])
    cross = np.mean([feats[21][i] @ feats[61][j] for i in common for j in common if i != j])
    assert same > cross + 0.15, (same, cross)


def test_preprocessing_follows_the_reid_section(embedder):
    frame = np.zeros((100, 100, 3), np.uint8)
    frame[..., 0] = 200  # pure red in RGB
    x = embedder.preprocess(frame, np.array([[10, 10, 50, 90]]))
    assert x.shape == (1, 256, 128, 3)  # NHWC, 128w x 256h
    assert x[0, 0, 0].tolist() == [0.0, 0.0, 200.0]  # BGR order, raw 0..255
    assert embedder(frame, np.zeros((0, 4))).shape == (0, 256)


def test_missing_model_is_named():
    with pytest.raises(ValueError, match="ReID.onnxFile: re-ID model 'nope.onnx' not found"):
        ReIDEmbedder("nope.onnx")


def test_keep_aspect_pads_instead_of_stretching():
    cfg = load_tracker_config(CONFIGS / "config_tracker_NvDeepSORT.yml")
    cfg.reid.keep_aspc = True
    emb = ReIDEmbedder(cfg.reid.onnx_file, cfg.reid)
    frame = np.full((300, 300, 3), 255, np.uint8)
    x = emb.preprocess(frame, np.array([[0, 0, 256, 128]]))  # a wide box: the lower part is padding
    assert x.shape == (1, 256, 128, 3)
    assert x[0, :60].min() == 255.0 and x[0, 70:].max() == 0.0
