"""msgconv and adapter config files: DeepStream keys, YAML twin, errors naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from vistream.msg.config import AdapterConfig, ConfigError, MsgConvConfig

SAMPLES = Path(__file__).resolve().parents[2] / "samples/configs"


def test_sample_msgconv_config():
    cfg = MsgConvConfig.load(SAMPLES / "msgconv/msgconv_config.txt")
    assert sorted(cfg.sensors) == [0, 1]  # [sensor2] has enable=0
    s = cfg.sensors[0]
    assert s.id == "HWY_20_AND_LOCUST__EBA__4_11_2018_4_59_59_508_AM_UTC-07_00"
    assert s.location == (45.293701447, -75.8303914499, 48.1557479338) and s.coordinate == (5.2, 10.1, 11.2)
    assert cfg.places[0].sub_field == ("C_127_158", "Lane 1", "P1") and cfg.places[1].name == "HWY_20_AND_LOCUST__WBA"
    assert cfg.analytics[1].id == "XYZ_2" and cfg.analytics[0].source == "OpenALR"
    assert cfg.sensor_index("HWY_20_AND_LOCUST__WBA__4_11_2018_4_59_59_379_AM_UTC-07_00") == 1
    assert cfg.sensor_index("nope") is None


def test_yaml_config_reads_the_same():
    txt = MsgConvConfig.load(SAMPLES / "msgconv/msgconv_config.txt")
    yml = MsgConvConfig.load(SAMPLES / "msgconv/msgconv_config.yml")
    assert yml.sensors[0] == txt.sensors[0] and yml.places[0] == txt.places[0]
    assert yml.analytics[0] == txt.analytics[0]


@pytest.mark.parametrize("body, line, msg", [
    ("[sensor0]\nid=a\nlocation=1;2\n", 3, "location must be three numbers"),
    ("[sensor0]\nid=a\ncoordinate=1;x;3\n", 3, "coordinate must be three numbers"),
    ("[sensor0]\nid=a\nlocaton=1;2;3\n", 3, "unknown key 'locaton' in [sensor0]"),
    ("[camera0]\nid=a\n", 2, "unknown group [camera0]"),
    ("[place0\nid=a\n", 1, "malformed group header"),
    ("id=a\n", 1, "key outside of any [group]"),
    ("[sensor0]\nenable=maybe\n", 2, "enable must be 0 or 1"),
    ("[sensor0]\nid\n", 2, "expected 'key=value'"),
    ("[sensor0]\nid=a\n[sensor0]\nid=b\n", 3, "appears twice"),
])
def test_msgconv_config_errors_name_file_and_line(tmp_path, body, line, msg):
    p = tmp_path / "bad.txt"
    p.write_text("# comment\n" + body)
    with pytest.raises(ConfigError) as e:
        MsgConvConfig.load(p)
    assert f"{p}:{line + 1}:" in str(e.value) and msg in str(e.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        MsgConvConfig.load(tmp_path / "missing.txt")


def test_yaml_error_names_line(tmp_path):
    p = tmp_path / "bad.yml"
    p.write_text("sensor0:\n  id: a\n  location: [1, 2\n")
    with pytest.raises(ConfigError, match=rf"{p}:\d+: invalid YAML"):
        MsgConvConfig.load(p)


def test_sample_adapter_configs_load():
    for proto in ("kafka", "mqtt", "amqp", "redis"):
        cfg = AdapterConfig.load(SAMPLES / f"msgbroker/cfg_{proto}.txt", proto)
        assert cfg.values, proto
    k = AdapterConfig.load(SAMPLES / "msgbroker/cfg_kafka.txt", "kafka")
    assert k.get("partition-key") == "sensor.id"
    assert k.kv_list("proto-cfg") == {"message.timeout.ms": "5000", "retries": "5"}


def test_adapter_config_errors(tmp_path):
    p = tmp_path / "cfg.txt"
    p.write_text("[message-broker]\nusername=a\npasword=b\n")
    with pytest.raises(ConfigError, match=rf"{p}:3: unknown key 'pasword' for the mqtt adapter"):
        AdapterConfig.load(p, "mqtt")
    p.write_text("[broker]\nusername=a\n")
    with pytest.raises(ConfigError, match="no \\[message-broker\\] group"):
        AdapterConfig.load(p, "mqtt")
    p.write_text("[message-broker]\nproto-cfg=acks\nkeep-alive=x\n")
    cfg = AdapterConfig.load(p, "")
    with pytest.raises(ConfigError, match=rf"{p}:2: proto-cfg: expected 'name=value'"):
        cfg.kv_list("proto-cfg")
    with pytest.raises(ConfigError, match=rf"{p}:3: keep-alive must be an integer"):
        cfg.get_int("keep-alive", 60)


def test_message_consumer_groups_of_an_app_config(tmp_path):
    from vistream.msg import consumer_specs, parse_command

    app = tmp_path / "app.txt"
    app.write_text("[application]\nenable-perf-measurement=1\n"
                   "[message-consumer0]\nenable=1\nproto-lib=/opt/nvidia/deepstream/lib/libnvds_kafka_proto.so\n"
                   "conn-str=localhost;9092\nconfig-file=cfg_kafka.txt\nsubscribe-topic-list=a;b\n"
                   "sensor-list-file=msgconv.txt\n"
                   "[message-consumer1]\nenable=0\nproto-lib=mqtt\nconn-str=h;1\nsubscribe-topic-list=c\n")
    (spec,) = consumer_specs(app)
    assert spec.subscribe_topic_list == ["a", "b"] and spec.conn_str == "localhost;9092"
    assert spec.config == str(tmp_path / "cfg_kafka.txt") and spec.sensor_list_file == str(tmp_path / "msgconv.txt")
    app.write_text("[message-consumer0]\nproto-lib=kafka\nconn-str=h;1\n")
    with pytest.raises(ConfigError, match=r"\[message-consumer0\] needs subscribe-topic-list"):
        consumer_specs(app)
    cfg = MsgConvConfig.load(SAMPLES / "msgconv/msgconv_config.txt")
    cmd = parse_command("t", b'{"command": "add-source", "source": {"uri": "rtsp://cam/1"}, "sensor": {"id": '
                             b'"HWY_20_AND_LOCUST__EBA__4_11_2018_4_59_59_508_AM_UTC-07_00"}}', cfg)
    assert (cmd.command, cmd.uri, cmd.source_id, cmd.known) == ("add-source", "rtsp://cam/1", 0, True)
    assert parse_command("t", b'{"command": "reboot"}').known is False
    with pytest.raises(ValueError, match="no string 'command'"):
        parse_command("t", b'{"cmd": 1}')
