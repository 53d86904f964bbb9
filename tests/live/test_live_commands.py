"""Commands from a message broker (deepstream-test5 style, through MsgConsumer on a real Mosquitto) drive the
PipelineManager: add-source, start-recording (smart record from the cache) and remove-source."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from tests.server.server_helpers import wait_for
from tests.servers.brokers import MosquittoServer
from vistream.live.manager import ManagerOptions, PipelineManager
from vistream.msg.consumer import MsgConsumer

pytestmark = pytest.mark.server
DATA = Path(__file__).resolve().parents[1] / "data"


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_broker_commands_add_record_and_remove_streams(tmp_path):
    opts = ManagerOptions(uris=[str(DATA / "traffic_48.mp4")], max_streams=2, width=640, height=360, view=False,
                          smart_record=True, smart_rec_dir_path=str(tmp_path), smart_rec_cache=5)
    with MosquittoServer() as mq, PipelineManager(opts) as mgr:
        consumer = MsgConsumer("libnvds_mqtt_proto.so", f"127.0.0.1;{mq.port}", "ds-commands",
                               callback=mgr.on_command)
        try:
            assert consumer.connected.wait(10)
            pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
            pub.connect("127.0.0.1", mq.port)
            pub.loop_start()

            def send(body: dict) -> None:
                pub.publish("ds-commands", json.dumps(body), qos=1).wait_for_publish(5)

            send({"command": "add-source", "source": {"uri": f"file://{DATA / 'people_48.mp4'}"},
                  "sensor": {"id": "1"}})
            assert wait_for(lambda: 1 in mgr.streams and mgr.streams[1].frames > 10)
            now = dt.datetime.now(dt.timezone.utc)
            send({"command": "start-recording", "start": _iso(now - dt.timedelta(seconds=1)),
                  "end": _iso(now + dt.timedelta(seconds=1)), "sensor": {"id": "1"}})
            assert wait_for(lambda: any(e["type"] == "recording-done" for e in mgr.recent_events()))
            done = next(e for e in mgr.recent_events() if e["type"] == "recording-done")
            assert done["source_id"] == 1 and (tmp_path / done["filename"]).is_file()
            assert 1500 <= done["duration_ms"] <= 3500  # ~1 s before (from a keyframe) + ~1 s after
            send({"command": "remove-source", "sensor": {"id": "1"}})
            assert wait_for(lambda: 1 not in mgr.streams)
            send({"command": "start-recording", "sensor": {"id": "7"}})
            assert wait_for(lambda: any(e["type"] == "command-failed" for e in mgr.recent_events()))
            failed = next(e for e in mgr.recent_events() if e["type"] == "command-failed")
            assert 'no stream "7"' in failed["message"]
            assert sorted(mgr.streams) == [0] and mgr.streams[0].frames > 20
            pub.loop_stop()
            pub.disconnect()
        finally:
            consumer.close()
