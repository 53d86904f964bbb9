"""Analytics events in the service: detector + tracker + nvdsanalytics on the walkway clip give ROI counts and
line crossings in /api/v1/events, and a line crossing triggers a smart recording (the analytics-event trigger)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.server.server_helpers import DATA, SAMPLES, TOKEN, make_manager, wait_for
from vistream.server.app import create_app

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_line_crossings_and_roi_counts_become_events_and_trigger_recording(tmp_path):
    mgr = make_manager(uris=[str(DATA / "people_48.mp4")], max_streams=1, width=800, height=450, view=False,
                       infer_config=str(SAMPLES / "configs/config_infer_primary_yoloX.txt"),
                       tracker_config=str(SAMPLES / "configs/tracker/config_tracker_IOU.yml"),
                       analytics_config=str(SAMPLES / "configs/analytics/config_nvdsanalytics.txt"),
                       live_source=False, realtime_files=False, smart_record=True,
                       smart_rec_dir_path=str(tmp_path), record_on=("line-crossing",), record_on_duration=1)
    mgr.start()
    try:
        with TestClient(create_app(mgr, token=TOKEN)) as c:
            def events():
                return c.get("/api/v1/events?limit=1000").json()

            assert wait_for(lambda: any(e["type"] == "recording-done" for e in events()), 40)
            evs = events()
    finally:
        mgr.stop()
    rois = [e for e in evs if e["type"] == "roi-count"]
    assert rois and {e["roi"] for e in rois} == {"Walkway"}
    assert max(e["count"] for e in rois) >= 3  # several people on the walkway at once
    crossings = [e for e in evs if e["type"] == "line-crossing"]
    assert crossings and {e["line"] for e in crossings} <= {"Entry", "Exit"}
    first = crossings[0]
    assert first["source_id"] == 0 and first["count"] >= 1 and first["total"] >= 1
    # the crossing started the recording: the next recording event follows it
    started = next(e for e in evs if e["type"] == "recording-started")
    assert started["id"] > first["id"] and started["start_time"] == 2.0
    done = next(e for e in evs if e["type"] == "recording-done")
    assert done["session_id"] == started["session_id"]
    assert (tmp_path / done["filename"]).is_file() and done["width"] == 800 and done["frames"] >= 24
