import math

import pytest

from vistream.analytics import get_analytics_obj_info

from .analytics_helpers import core_from, obj_at, run_frame, run_track

DD = """
[direction-detection-stream-0]
enable=1
direction-East=100;100;200;100
direction-South=100;100;100;200
direction-NorthWest=200;200;100;100
class-id={cls}
mode={mode}
"""


def dd_core(mode="balanced", cls=-1, **kw):
    return core_from(DD.format(mode=mode, cls=cls), **kw)


def heading(deg, n=6, step=10.0):
    """Points moving at ``deg`` degrees from +x towards +y (image coordinates, y down)."""
    a = math.radians(deg)
    return [(300 + step * i * math.cos(a), 300 + step * i * math.sin(a)) for i in range(n)]


def dirs(results):
    return [info.dirStatus for info, _ in results]


def test_first_frame_has_no_direction_then_best_match():
    res = run_track(dd_core(), heading(10))
    assert dirs(res) == ["", "DIR:East", "DIR:East", "DIR:East", "DIR:East", "DIR:East"]
    assert dirs(run_track(dd_core(), heading(80)))[1:] == ["DIR:South"] * 5
    assert dirs(run_track(dd_core(), heading(225)))[1:] == ["DIR:NorthWest"] * 5


@pytest.mark.parametrize(("deg", "loose", "balanced", "strict"), [
    (220, "DIR:NorthWest", "DIR:NorthWest", "DIR:NorthWest"),  # 5° from NorthWest
    (-40, "DIR:East", "DIR:East", ""),  # 40° from East (95° from NorthWest)
    (-100, "DIR:NorthWest", "DIR:NorthWest", ""),  # 35° from NorthWest, 100° from East
    (-70, "DIR:NorthWest", "", ""),  # 65° from NorthWest, 70° from East
])
def test_modes(deg, loose, balanced, strict):
    got = [dirs(run_track(dd_core(mode), heading(deg)))[-1] for mode in ("loose", "balanced", "strict")]
    assert got == [loose, balanced, strict]


def test_min_motion_class_filter_and_untracked():
    core = dd_core(min_motion=5.0)
    assert dirs(run_track(core, [(300, 300), (304, 300), (308, 300)])) == ["", "", "DIR:East"]
    assert dirs(run_track(dd_core(cls=1), heading(0), class_id=0))[-1] == ""
    core = dd_core()
    a, b = obj_at(300, 300), obj_at(400, 300)
    run_frame(core, [a])
    run_frame(core, [b], frame_num=1)
    assert get_analytics_obj_info(b).dirStatus == ""


def test_history_window_sets_the_motion():
    # East for 4 frames, then one step south: with history 5 the net motion is still East-ish (~22°);
    # with history 1 it is the last step only.
    pts = [(300, 300), (310, 300), (320, 300), (330, 300), (340, 300), (340, 316)]
    assert dirs(run_track(dd_core("strict", history=5), pts))[-1] == "DIR:East"
    assert dirs(run_track(dd_core("strict", history=1), pts))[-1] == "DIR:South"


def test_motion_away_from_every_direction_has_none():
    core = core_from("[direction-detection-stream-0]\nenable=1\ndirection-East=0;0;10;0\nmode=loose\n")
    assert dirs(run_track(core, heading(100))) == [""] * 6  # 100° from East
    assert dirs(run_track(core, heading(85)))[-1] == "DIR:East"
