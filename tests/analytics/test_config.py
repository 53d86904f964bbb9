from pathlib import Path

import numpy as np
import pytest

from vistream.analytics import AnalyticsConfigError, ConfigWarning, Mode, load_analytics_config

SAMPLE = Path(__file__).resolve().parents[2] / "samples/configs/analytics/config_nvdsanalytics.txt"


def test_sample_config_values():
    cfg = load_analytics_config(SAMPLE)
    assert (cfg.enable, cfg.config_width, cfg.config_height, cfg.osd_mode, cfg.display_font_size) == (
        True, 1920, 1080, 2, 12)
    assert sorted(cfg.streams) == [0, 1]
    s0 = cfg.rules(0)
    assert s0.roi_filtering.enable and not s0.roi_filtering.inverse_roi and s0.roi_filtering.class_ids == []
    assert [r.label for r in s0.roi_filtering.rois] == ["Walkway"]
    assert s0.roi_filtering.rois[0].points.tolist() == [[300, 400], [1620, 400], [1800, 1060], [120, 1060]]
    assert s0.overcrowding.object_threshold == 5 and s0.overcrowding.class_ids == [0]
    lc = s0.line_crossing
    assert [ln.label for ln in lc.lines] == ["Entry", "Exit"]
    assert lc.lines[0].direction.tolist() == [[960, 560], [960, 760]]
    assert lc.lines[0].line.tolist() == [[200, 660], [1720, 660]]
    assert (lc.extended, lc.mode, lc.class_ids) == (False, Mode.LOOSE, [0])
    dd = s0.direction_detection
    assert [d.label for d in dd.directions] == ["Down", "Up"] and dd.mode is Mode.BALANCED
    s1 = cfg.rules(1)
    assert s1.line_crossing.class_ids == [2, 5, 7] and s1.line_crossing.extended
    assert not s1.roi_filtering.enable and cfg.rules(2) is None


def test_scaling_multiplies_every_coordinate():
    s0 = load_analytics_config(SAMPLE).rules(0).scaled(0.5, 0.25)
    assert s0.roi_filtering.rois[0].points.tolist() == [[150, 100], [810, 100], [900, 265], [60, 265]]
    np.testing.assert_allclose(s0.line_crossing.lines[0].line, [[100, 165], [860, 165]])
    np.testing.assert_allclose(s0.direction_detection.directions[0].vector, [[480, 75], [480, 175]])


BASE = "[property]\nenable=1\nconfig-width=100\nconfig-height=100\n"


@pytest.mark.parametrize(("body", "line", "msg"), [
    ("[roi-filtering-stream-0]\nenable=1\nroi-A=1;2;3;4;5\n", 7, "at least 3 points"),
    ("[roi-filtering-stream-0]\nenable=1\nroi-A=0;0;10;10;20;20\n", 7, "zero area"),
    ("[roi-filtering-stream-0]\nenable=1\nroi-A=0;0;10;x;20;20\n", 7, "'x'"),
    ("[roi-filtering-stream-0]\nenable=1\n", 5, "defines no roi-"),
    ("[roi-filtering-stream-0]\nenable=1\nroi-A=0;0;10;0;10;10\nclass-id=-1;2\n", 8, "cannot be combined"),
    ("[roi-filtering-stream-0]\nenable=1\nroi-A=0;0;10;0;10;10\ninverse-roi=2\n", 8, "expected 0/1"),
    ("[overcrowding-stream-0]\nenable=1\nroi-A=0;0;10;0;10;10\n", 5, "object-threshold is required"),
    ("[overcrowding-stream-0]\nenable=1\nroi-A=0;0;10;0;10;10\nobject-threshold=0\n", 8, "must be >= 1"),
    ("[line-crossing-stream-0]\nenable=1\nline-crossing-L=0;0;0;10;0;5;10\n", 7, "expected 8 values"),
    ("[line-crossing-stream-0]\nenable=1\nline-crossing-L=0;0;10;0;0;5;10;5\n", 7, "parallel"),
    ("[line-crossing-stream-0]\nenable=1\nline-crossing-L=0;0;0;0;0;5;10;5\n", 7, "zero length"),
    ("[line-crossing-stream-0]\nenable=1\nline-crossing-L=0;0;0;10;0;5;10;5\nmode=fast\n", 8,
     "balanced, loose, strict"),
    ("[direction-detection-stream-0]\nenable=1\ndirection-N=0;10;0\n", 7, "expected 4 values"),
    ("[property]\nosd-mode=3\n", 6, "out of range [0, 2]"),
])
def test_bad_values_raise_with_file_and_line(write_config, body, line, msg):
    path = write_config(BASE + body)
    with pytest.raises(AnalyticsConfigError) as exc:
        load_analytics_config(path)
    assert str(exc.value).startswith(f"{path}:{line}: "), str(exc.value)
    assert msg in str(exc.value)


def test_missing_property_and_half_size(write_config):
    with pytest.raises(AnalyticsConfigError, match="missing \\[property\\]"):
        load_analytics_config(write_config("[roi-filtering-stream-0]\nenable=0\n"))
    p = write_config("[property]\nconfig-width=640\n")
    with pytest.raises(AnalyticsConfigError, match=rf"^{p}:2: \[property\] config-width: .*set together"):
        load_analytics_config(p)


def test_unknown_group_and_key_warn_with_line(write_config):
    p = write_config(BASE + "[roi-filtering-stream-0]\nenable=1\nroi-A=0;0;10;0;10;10\nfoo=1\n[bogus]\nx=1\n")
    with pytest.warns(ConfigWarning) as rec:
        cfg = load_analytics_config(p)
    msgs = [str(w.message) for w in rec]
    assert msgs == [f"{p}:8: [roi-filtering-stream-0] unknown key 'foo' (ignored)", f"{p}:9: unknown group [bogus] (ignored)"]
    assert cfg.rules(0).roi_filtering.rois[0].label == "A"


def test_disabled_group_may_be_empty_and_class_ids_parse(write_config):
    p = write_config(BASE + "[line-crossing-stream-3]\nenable=0\n[roi-filtering-stream-3]\nenable=1\n"
                     "roi-A=0;0;10;0;10;10;\nclass-id=0;2;\n")
    cfg = load_analytics_config(p)
    assert not cfg.rules(3).line_crossing.enable and cfg.rules(3).line_crossing.lines == []
    assert cfg.rules(3).roi_filtering.class_ids == [0, 2]
