import math

import pytest

from vistream.analytics import get_analytics_frame_meta, get_analytics_obj_info

from .analytics_helpers import core_from, obj_at, run_frame, run_track

LC = """
[line-crossing-stream-0]
enable=1
line-crossing-Down=500;400;500;600;200;500;800;500
line-crossing-Up=500;600;500;400;200;500;800;500
class-id={cls}
extended={ext}
mode={mode}
"""


def lc_core(cls="-1", ext=0, mode="loose", **kw):
    return core_from(LC.format(cls=cls, ext=ext, mode=mode), **kw)


def straight(x0, y0, x1, y1, n):
    return [(x0 + (x1 - x0) * i / (n - 1), y0 + (y1 - y0) * i / (n - 1)) for i in range(n)]


def lc_events(results):
    return [info.lcStatus if info else None for info, _ in results]


def test_down_crossing_counted_once_in_its_frame():
    core = lc_core()
    res = run_track(core, straight(500, 440, 500, 560, 7))  # y: 440 460 480 500 520 540 560
    # y=500 is on the line (keeps the "before" side); the crossing completes at y=520.
    assert lc_events(res) == [[], [], [], [], ["Down"], [], []]
    cur = [get_analytics_frame_meta(fm).objLCCurrCnt for _, fm in res]
    cum = [get_analytics_frame_meta(fm).objLCCumCnt for _, fm in res]
    assert cur[4] == {"Down": 1, "Up": 0} and cur[5] == {"Down": 0, "Up": 0}
    assert cum[3] == {"Down": 0, "Up": 0} and cum[6] == {"Down": 1, "Up": 0}
    assert core.cumulative_counts(0) == {"Down": 1}


def test_back_and_forth_counts_each_direction():
    core = lc_core()
    pts = [(400, 450), (400, 550), (400, 450), (400, 550), (400, 560), (400, 450)]
    res = run_track(core, pts)
    assert lc_events(res) == [[], ["Down"], ["Up"], ["Down"], [], ["Up"]]
    assert core.cumulative_counts(0) == {"Down": 2, "Up": 2}


def test_first_sighting_after_the_line_is_not_a_crossing():
    core = lc_core()
    res = run_track(core, [(400, 550), (400, 560), (400, 570)])
    assert lc_events(res) == [[], [], []]


def test_segment_end_and_extended():
    outside = [(900, 450), (900, 550)]  # crosses y=500 at x=900, beyond the segment's x 200..800
    assert lc_events(run_track(lc_core(ext=0), outside)) == [[], []]
    assert lc_events(run_track(lc_core(ext=1), outside)) == [[], ["Down"]]
    edge = [(800, 450), (800, 550)]  # exactly through the segment's end point
    assert lc_events(run_track(lc_core(ext=0), edge)) == [[], ["Down"]]


def _diagonal(angle_deg, step=30.0):
    """A track crossing the line with its motion ``angle_deg`` away from the Down direction (+y)."""
    a = math.radians(angle_deg)
    dx, dy = step * math.sin(a), step * math.cos(a)
    return [(400 + dx * i, 500 - 2.5 * dy + dy * i) for i in range(5)]


@pytest.mark.parametrize(("angle", "loose", "balanced", "strict"), [
    (0, 1, 1, 1), (25, 1, 1, 1), (35, 1, 1, 0), (55, 1, 1, 0), (65, 1, 0, 0), (85, 1, 0, 0),
])
def test_modes_limit_the_angle_to_the_direction(angle, loose, balanced, strict):
    got = []
    for mode in ("loose", "balanced", "strict"):
        core = lc_core(mode=mode)
        run_track(core, _diagonal(angle))
        got.append(core.cumulative_counts(0).get("Down", 0))
    assert got == [loose, balanced, strict]


def test_mode_uses_motion_over_history():
    # The last step crosses straight down, but over the history the object moved mostly sideways (~71°):
    # balanced rejects it with history=5 and accepts it with history=1 (the crossing step alone).
    pts = [(200, 480), (300, 480), (400, 480), (500, 490), (500, 510)]
    for history, expected in ((5, 0), (1, 1)):
        core = lc_core(mode="balanced", history=history)
        run_track(core, pts)
        assert core.cumulative_counts(0).get("Down", 0) == expected


def test_hovering_on_the_line_counts_once():
    core = lc_core()
    pts = [(400, 480), (400, 500), (400, 500), (400, 500), (400, 520), (400, 500), (400, 530)]
    res = run_track(core, pts)
    assert lc_events(res) == [[], [], [], [], ["Down"], [], []]


def test_class_filter_and_untracked_objects():
    core = lc_core(cls="2")
    run_track(core, [(400, 450), (400, 550)], object_id=1, class_id=0)
    run_track(core, [(400, 450), (400, 550)], object_id=2, class_id=2)
    assert core.cumulative_counts(0) == {"Down": 1}
    core = lc_core()
    a, b = obj_at(400, 450), obj_at(400, 550)  # no object_id: untracked
    run_frame(core, [a], frame_num=0)
    run_frame(core, [b], frame_num=1)
    assert get_analytics_obj_info(b).lcStatus == [] and core.cumulative_counts(0) == {}


def test_two_objects_same_frame_and_sources_are_independent():
    core = lc_core()
    for f, y in enumerate((450, 550)):
        objs = [obj_at(300, y, 1), obj_at(600, y, 2)]
        fm = run_frame(core, objs, source_id=0, frame_num=f)
        # Same object id on another source, moving up: its own history, its own counts.
        run_frame(core, [obj_at(300, 1000 - y, 1)], source_id=1, frame_num=f)
    assert get_analytics_frame_meta(fm).objLCCurrCnt == {"Down": 2, "Up": 0}
    assert core.cumulative_counts(0) == {"Down": 2}
    assert core.cumulative_counts(1) == {}  # no rules for stream 1


def test_gap_in_track_and_forgetting():
    core = lc_core(max_missing_frames=3)
    run_track(core, [(400, 450), None, None, None, (400, 550)])  # missing 3 frames: still remembered
    assert core.cumulative_counts(0) == {"Down": 1}
    core = lc_core(max_missing_frames=3)
    run_track(core, [(400, 450), None, None, None, None, (400, 550)])  # missing 4: forgotten, new track
    assert core.cumulative_counts(0) == {}


def test_reset_source():
    core = lc_core()
    run_track(core, [(400, 450), (400, 550)])
    assert core.cumulative_counts(0) == {"Down": 1}
    core.reset_source(0)
    assert core.cumulative_counts(0) == {}
    res = run_track(core, [(400, 560), (400, 450)])
    assert lc_events(res) == [[], ["Up"]]
    assert get_analytics_frame_meta(res[-1][1]).objLCCumCnt == {"Down": 0, "Up": 1}


def test_line_coordinates_scale_with_config_size():
    core = core_from("""
    [property]
    config-width=100
    config-height=100
    osd-mode=0
    [line-crossing-stream-0]
    enable=1
    line-crossing-Right=40;50;60;50;50;0;50;100
    """)
    # 1000x500 frame: the vertical line is at x=500, y 0..500.
    pts = [(480, 300), (520, 300)]
    for f, p in enumerate(pts):
        run_frame(core, [obj_at(*p, 9)], frame_num=f, width=1000, height=500)
    assert core.cumulative_counts(0) == {"Right": 1}
