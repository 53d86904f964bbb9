"""MOT evaluation on the MOT15 TUD sequences from det.txt: MOTA/IDF1 floors measured with py-motmetrics."""

from __future__ import annotations

import numpy as np
import pytest

from vistream.track import load_tracker_config
from vistream.track.evaluate import evaluate_sequence, main, score_mot
from vistream.track.mot import iter_mot_detections, read_mot_txt

from .conftest import CONFIGS, MOT, ROOT

# Measured on this data (see docs/tracker.md); floors sit about one point below.
FLOORS = {
    ("config_tracker_IOU.yml", "TUD-Campus"): (0.55, 0.54),
    ("config_tracker_IOU.yml", "TUD-Stadtmitte"): (0.69, 0.75),
    ("config_tracker_SORT.yml", "TUD-Campus"): (0.56, 0.61),
    ("config_tracker_SORT.yml", "TUD-Stadtmitte"): (0.69, 0.75),
    ("config_tracker_NvSORT_MOT15.yml", "TUD-Campus"): (0.61, 0.69),
    ("config_tracker_NvSORT_MOT15.yml", "TUD-Stadtmitte"): (0.71, 0.75),
    # the general config (thresholds for detectors with spread-out scores) on the same det.txt
    ("config_tracker_NvSORT.yml", "TUD-Campus"): (0.59, 0.65),
    ("config_tracker_NvSORT.yml", "TUD-Stadtmitte"): (0.70, 0.73),
}


@pytest.mark.parametrize("config, seq", list(FLOORS))
def test_mota_idf1_from_det_txt(config, seq):
    r = evaluate_sequence(MOT / seq, load_tracker_config(CONFIGS / config))
    mota, idf1 = FLOORS[config, seq]
    assert r.metrics["mota"] >= mota
    assert r.metrics["idf1"] >= idf1
    assert r.frames == {"TUD-Campus": 71, "TUD-Stadtmitte": 179}[seq]
    # every reported row carries a real id, and no id appears twice in one frame
    assert (r.rows[:, 1] >= 1).all()
    pairs = r.rows[:, :2].astype(int)
    assert len(np.unique(pairs, axis=0)) == len(pairs)


@pytest.mark.slow
def test_reid_tracker_on_real_frames():
    """Detections from det.txt, crops from the decoded video through the re-ID network."""
    cfg = load_tracker_config(CONFIGS / "config_tracker_NvDeepSORT_MOT15.yml")
    campus = evaluate_sequence(MOT / "TUD-Campus", cfg)
    stadt = evaluate_sequence(MOT / "TUD-Stadtmitte", cfg)
    assert campus.metrics["mota"] >= 0.615 and campus.metrics["idf1"] >= 0.735
    assert stadt.metrics["mota"] >= 0.72 and stadt.metrics["idf1"] >= 0.78
    assert stadt.metrics["num_switches"] <= 10


def test_score_of_ground_truth_against_itself_is_perfect():
    gt = read_mot_txt(MOT / "TUD-Campus" / "gt.txt")
    m = score_mot(gt, gt)
    assert m["mota"] == pytest.approx(1.0) and m["idf1"] == pytest.approx(1.0)
    assert m["num_unique_objects"] == 8
    # boxes moved off the people match nothing: every ground-truth box is a miss and every box a false positive
    shifted = gt.copy()
    shifted[:, 2] += 2000
    m = score_mot(gt, shifted)
    assert m["num_misses"] == len(gt) and m["num_false_positives"] == len(gt)


def test_det_txt_reading():
    det = read_mot_txt(MOT / "TUD-Campus" / "det.txt")
    assert det.shape == (321, 7)
    frames = list(iter_mot_detections(det, 71))
    assert len(frames) == 71 and frames[0][0] == 1
    assert sum(len(d) for _, d in frames) == 321
    assert frames[0][1].xyxy[0].tolist() == pytest.approx([281.931, 187.466, 361.861, 397.003], abs=1e-3)


def test_bad_det_txt_names_file_and_line(tmp_path):
    p = tmp_path / "det.txt"
    p.write_text("1,-1,10,10,20,20,0.9,-1,-1,-1\n2,-1,10,ten,20,20,0.9,-1,-1,-1\n")
    with pytest.raises(ValueError, match=r"det\.txt:2: not a number"):
        read_mot_txt(p)


def test_main_prints_table_and_writes_results(tmp_path, capsys):
    rc = main(["--seq", str(MOT / "TUD-Campus"), "--config", str(CONFIGS / "config_tracker_NvSORT_MOT15.yml"),
               "--output", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "| ByteTrack | TUD-Campus |" in out and "MOTA" in out and "IDF1" in out
    rows = read_mot_txt(tmp_path / "TUD-Campus.txt")
    assert len(rows) > 200 and set(np.unique(rows[:, 0])) <= set(range(1, 72))
    # --algorithm overrides; errors come back as exit status 2 with the reason
    assert main(["--seq", str(MOT / "TUD-Campus"), "--algorithm", "IOU"]) == 0
    assert main(["--seq", str(tmp_path), "--algorithm", "SORT"]) == 2
    assert "det.txt: no such det.txt" in capsys.readouterr().err
    assert main(["--seq", str(MOT / "TUD-Campus"), "--algorithm", "KLT"]) == 2


def test_main_runs_straight_from_a_det_txt(tmp_path, capsys):
    det = MOT / "TUD-Campus" / "det.txt"
    assert main(["--det", str(det), "--config", str(CONFIGS / "config_tracker_NvSORT_MOT15.yml"),
                 "--output", str(tmp_path)]) == 0
    assert "TUD-Campus: 71 frames, 10 tracks (ByteTrack; no ground truth given)" in capsys.readouterr().out
    rows = read_mot_txt(tmp_path / "TUD-Campus.txt")
    assert len(np.unique(rows[:, 1])) == 10
    assert main(["--det", str(det), "--gt", str(MOT / "TUD-Campus" / "gt.txt"), "--algorithm", "SORT"]) == 0
    assert "| SORT | TUD-Campus |" in capsys.readouterr().out
    assert main([]) == 2


@pytest.mark.slow
def test_full_pipeline_detector_then_tracker_with_interval():
    """Video -> vistream.infer YOLOX-nano (nvinfer interval=1) -> TrackerCore, scored against gt.txt."""
    from vistream.track.evaluate import track_video

    seq = MOT / "TUD-Campus"
    cfg = load_tracker_config(CONFIGS / "config_tracker_NvSORT.yml")
    rows, frames, _ = track_video(seq, cfg, ROOT / "samples" / "configs" / "config_infer_primary_yoloX.txt",
                                  class_ids=[0], interval=1)
    assert frames == 71
    # objects on every frame, the skipped ones included (predicted boxes)
    assert set(np.unique(rows[:, 0]).astype(int)) == set(range(1, 72))
    m = score_mot(read_mot_txt(seq / "gt.txt"), rows)
    assert m["mota"] >= 0.66 and m["idf1"] >= 0.70  # measured 67.4 / 71.5
