from .analytics_helpers import core_from, obj_at, run_frame, run_track

RULES = """
[property]
osd-mode={mode}
display-font-size=15
[roi-filtering-stream-0]
enable=1
roi-RF=100;100;300;100;300;300;100;300
[overcrowding-stream-0]
enable=1
roi-OC=400;100;600;100;500;300
object-threshold=2
[line-crossing-stream-0]
enable=1
line-crossing-Gate=700;400;700;600;600;500;800;500
[direction-detection-stream-0]
enable=1
direction-North=900;600;900;400
"""


def test_osd_mode_0_draws_nothing():
    fm = run_frame(core_from(RULES.format(mode=0)), [obj_at(200, 200)])
    assert fm.display_meta_list == []


def test_osd_mode_1_draws_shapes_and_labels():
    fm = run_frame(core_from(RULES.format(mode=1)), [obj_at(200, 200)])
    (dm,) = fm.display_meta_list
    # 4 ROI edges + 3 overcrowding edges + 1 counting line; 2 arrows (line direction, North).
    assert dm.num_lines == 8 and dm.num_arrows == 2
    assert [(lp.x1, lp.y1, lp.x2, lp.y2) for lp in dm.line_params[:4]] == [
        (100, 100, 300, 100), (300, 100, 300, 300), (300, 300, 100, 300), (100, 300, 100, 100)]
    assert [(a.x1, a.y1, a.x2, a.y2) for a in dm.arrow_params] == [(700, 400, 700, 600), (900, 600, 900, 400)]
    assert [t.display_text for t in dm.text_params] == ["RF", "OC", "Gate", "North"]
    assert dm.text_params[0].font_params.font_size == 15
    assert (dm.text_params[0].x_offset, dm.text_params[0].y_offset) == (100, 100 - 15 - 4)


def test_osd_mode_2_adds_counts_and_alert():
    core = core_from(RULES.format(mode=2))
    run_track(core, [(650, 450), (650, 550)])  # crosses Gate
    objs = [obj_at(200, 200, class_id=0), obj_at(500, 200, class_id=1), obj_at(510, 210, class_id=1)]
    fm = run_frame(core, objs, frame_num=2)
    (dm,) = fm.display_meta_list
    assert [t.display_text for t in dm.text_params] == [
        "RF: 1", "OC: 2 OVERCROWDED", "Gate: 1", "North", "class 0: 1  class 1: 2"]
    oc_edges = dm.line_params[4:7]
    assert all(lp.line_color.rgba255() == (255, 0, 0, 255) for lp in oc_edges)
