"""Line crossing and ROI counts on real tracks: the MOT15 TUD-Stadtmitte ground truth (640x480, 179 frames)."""

from pathlib import Path

import numpy as np

from vistream.analytics import get_analytics_frame_meta
from vistream.meta import BatchMeta, make_object, new_frame_meta

from .analytics_helpers import core_from

GT = Path(__file__).resolve().parents[1] / "data/mot/TUD-Stadtmitte/gt.txt"

CONFIG = """
[property]
config-width=640
config-height=480
osd-mode=0
[line-crossing-stream-0]
enable=1
line-crossing-LR=400;240;440;240;420;0;420;480
line-crossing-RL=440;240;400;240;420;0;420;480
extended=1
mode=loose
[roi-filtering-stream-0]
enable=1
roi-Right=420;0;640;0;640;480;420;480
"""


def _rows():
    gt = np.loadtxt(GT, delimiter=",")
    return gt[np.lexsort((gt[:, 1], gt[:, 0]))]


def _expected_crossings(rows):
    """Independent count: consecutive sightings of one id whose bottom-centre x goes across x=420."""
    lr = rl = 0
    for tid in np.unique(rows[:, 1]):
        t = rows[rows[:, 1] == tid]
        x = t[:, 2] + t[:, 4] / 2
        lr += int(np.sum((x[:-1] < 420) & (x[1:] > 420)))
        rl += int(np.sum((x[:-1] > 420) & (x[1:] < 420)))
    return lr, rl


def test_crossings_and_roi_counts_match_an_independent_count():
    rows = _rows()
    core = core_from(CONFIG, history=1, max_missing_frames=1000)
    roi_counts, lc_sum = [], 0
    for f in range(1, int(rows[:, 0].max()) + 1):
        fm = new_frame_meta(0, f, 0, 640, 480)
        for r in rows[rows[:, 0] == f]:
            o = make_object(r[2], r[3], r[4], r[5], class_id=0)
            o.object_id = int(r[1])
            fm.add_obj_meta(o)
        core.process(BatchMeta(frame_meta_list=[fm]))
        out = get_analytics_frame_meta(fm)
        roi_counts.append(out.objInROIcnt["Right"])
        lc_sum += out.objLCCurrCnt["LR"] + out.objLCCurrCnt["RL"]
    lr, rl = _expected_crossings(rows)
    assert core.cumulative_counts(0) == {"LR": lr, "RL": rl}
    assert (lr, rl) == (3, 4)
    assert lc_sum == lr + rl
    centre_x = rows[:, 2] + rows[:, 4] / 2
    expected_roi = [int(np.sum(centre_x[rows[:, 0] == f] >= 420)) for f in range(1, 180)]
    assert roi_counts == expected_roi
    assert sum(roi_counts) == 625
