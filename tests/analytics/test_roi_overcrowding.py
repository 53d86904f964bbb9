from vistream.analytics import get_analytics_frame_meta, get_analytics_obj_info
from vistream.meta import MetaType

from .analytics_helpers import core_from, obj_at, run_frame

ROI = """
[roi-filtering-stream-0]
enable=1
roi-Left=0;0;500;0;500;1000;0;1000
roi-Tri=600;100;900;100;750;400
inverse-roi={inv}
class-id={cls}
"""


def _statuses(objs):
    return [get_analytics_obj_info(o).roiStatus for o in objs]


def test_roi_membership_counts_and_obj_count():
    core = core_from(ROI.format(inv=0, cls=-1))
    objs = [obj_at(100, 500, class_id=0), obj_at(500, 500, class_id=2), obj_at(750, 300, class_id=0),
            obj_at(750, 90, class_id=0), obj_at(890, 390, class_id=1)]
    fm = run_frame(core, objs)
    # (500, 500) lies on the Left ROI's edge: counted inside. (890, 390) is outside the triangle's slanted edge.
    assert _statuses(objs) == [["Left"], ["Left"], ["Tri"], [], []]
    out = get_analytics_frame_meta(fm)
    assert out.objInROIcnt == {"Left": 2, "Tri": 1}
    assert out.objCnt == {0: 3, 1: 1, 2: 1}
    assert [um.base_meta.meta_type for um in fm.frame_user_meta_list] == [MetaType.ANALYTICS_FRAME]
    assert all(len(o.obj_user_meta_list) == 1 for o in objs)


def test_inverse_roi_reports_objects_outside():
    core = core_from(ROI.format(inv=1, cls=-1))
    objs = [obj_at(100, 500), obj_at(750, 300), obj_at(950, 950)]
    fm = run_frame(core, objs)
    assert _statuses(objs) == [["Tri"], ["Left"], ["Left", "Tri"]]
    assert get_analytics_frame_meta(fm).objInROIcnt == {"Left": 2, "Tri": 2}


def test_class_filter():
    core = core_from(ROI.format(inv=0, cls="0;2"))
    objs = [obj_at(100, 500, class_id=0), obj_at(110, 500, class_id=1), obj_at(120, 500, class_id=2)]
    fm = run_frame(core, objs)
    assert _statuses(objs) == [["Left"], [], ["Left"]]
    assert get_analytics_frame_meta(fm).objInROIcnt == {"Left": 2, "Tri": 0}


def test_coordinates_scale_to_frame_and_rules_follow_source_id():
    core = core_from("""
    [property]
    config-width=100
    config-height=100
    osd-mode=0
    [roi-filtering-stream-1]
    enable=1
    roi-Box=10;10;50;10;50;50;10;50
    """)
    # Frame 400x200: the ROI becomes x 40..200, y 20..100.
    inside, outside = obj_at(199, 99), obj_at(30, 99)
    fm = run_frame(core, [inside, outside], source_id=1, width=400, height=200)
    assert _statuses([inside, outside]) == [["Box"], []]
    assert get_analytics_frame_meta(fm).objInROIcnt == {"Box": 1}
    # Stream 0 has no rules: the objects get empty results, the frame still gets objCnt.
    o = obj_at(199, 99)
    fm0 = run_frame(core, [o], source_id=0, width=400, height=200)
    assert get_analytics_obj_info(o).roiStatus == [] and get_analytics_frame_meta(fm0).objInROIcnt == {}
    assert get_analytics_frame_meta(fm0).objCnt == {0: 1}


OC = """
[overcrowding-stream-0]
enable=1
roi-Door=0;0;100;0;100;100;0;100
object-threshold=3
class-id=0
"""


def test_overcrowding_threshold_is_at_least():
    core = core_from(OC)
    objs = [obj_at(10 * i + 5, 50) for i in range(2)] + [obj_at(50, 50, class_id=1), obj_at(500, 500)]
    fm = run_frame(core, objs)
    out = get_analytics_frame_meta(fm)
    assert (out.ocStatus, out.objInOCcnt) == ({"Door": False}, {"Door": 2})
    assert [get_analytics_obj_info(o).ocStatus for o in objs] == [["Door"], ["Door"], [], []]
    objs = [obj_at(10 * i + 5, 50) for i in range(3)]
    out = get_analytics_frame_meta(run_frame(core, objs, frame_num=1))
    assert (out.ocStatus, out.objInOCcnt) == ({"Door": True}, {"Door": 3})


def test_disabled_plugin_passes_through():
    core = core_from("[property]\nenable=0\n" + OC)
    o = obj_at(50, 50)
    fm = run_frame(core, [o])
    assert fm.frame_user_meta_list == [] and o.obj_user_meta_list == [] and fm.display_meta_list == []
