import textwrap
import warnings
from pathlib import Path

import pytest

from vistream.app.config import (
    AppConfigError,
    ConfigWarning,
    ContainerType,
    EncoderCodec,
    GieConfig,
    SinkType,
    SourceType,
    accepted_keys,
    load_app_config,
)

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples/configs/deepstream-app"

MINIMAL = """
[source0]
enable=1
type=2
uri=file://video.mp4

[sink0]
enable=1
type=1
"""


def write(tmp_path, text, name="app.txt"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text).lstrip("\n"))
    return p


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.txt")))
def test_samples_load_without_warnings_and_their_videos_exist(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cfg = load_app_config(SAMPLES / name)
    for s in cfg.active_sources:
        assert s.uri.startswith("file://") and Path(s.uri[len("file://"):]).is_file(), s.uri


def test_single_source_sample_values():
    cfg = load_app_config(SAMPLES / "source1_file_to_file.txt")
    assert cfg.application.enable_perf_measurement and cfg.application.perf_measurement_interval_sec == 5
    assert not cfg.tiled_display.enable and (cfg.tiled_display.width, cfg.tiled_display.height) == (800, 450)
    (src,) = cfg.sources
    assert (src.index, src.type, src.num_sources, src.drop_frame_interval) == (0, SourceType.URI, 1, 0)
    assert src.uri == "file://" + str(REPO / "samples/videos/people_walkway_800x450.mp4")
    mux = cfg.streammux
    assert (mux.batch_size, mux.batched_push_timeout, mux.width, mux.height, mux.enable_padding, mux.live_source) == (
        1, 40000, 800, 450, False, False)
    pg = cfg.primary_gie
    assert pg.is_primary and pg.gie_unique_id == 1 and pg.config_file == REPO / "samples/configs/config_infer_primary_yoloX.txt"
    assert pg.bbox_border_colors[0].rgba255() == (255, 0, 0, 255)
    assert pg.bbox_border_colors[2].rgba255() == (0, 255, 255, 255)
    assert cfg.tracker.ll_lib_file == "libnvds_nvmultiobjecttracker.so"
    assert cfg.tracker.ll_config_file == REPO / "samples/configs/tracker/config_tracker_IOU.yml"
    assert cfg.analytics.enable and cfg.analytics.config_file == REPO / "samples/configs/analytics/config_nvdsanalytics.txt"
    osd = cfg.osd
    assert (osd.border_width, osd.text_size, osd.font, osd.show_clock, osd.clock_x_offset, osd.process_mode) == (
        2, 15, "Serif", True, 640, 0)
    assert (osd.text_bg_color.red, osd.text_bg_color.alpha) == (0.3, 1.0)
    (sink,) = cfg.sinks
    assert (sink.type, sink.container, sink.codec, sink.enc_type, sink.bitrate, sink.source_id) == (
        SinkType.FILE, ContainerType.MP4, EncoderCodec.H264, 1, 2000000, 0)
    assert sink.output_file == SAMPLES / "out_source1.mp4"
    assert not cfg.tests.file_loop and cfg.ds_example is None and cfg.message_converter is None


def test_tiled_sample_and_secondary_gies():
    cfg = load_app_config(SAMPLES / "source4_tiled_tracker_sgie.txt")
    assert cfg.tiled_display.enable and (cfg.tiled_display.rows, cfg.tiled_display.columns) == (2, 2)
    assert [s.index for s in cfg.sources] == [0, 1, 2, 3] and cfg.num_streams == 4 and cfg.batch_size == 4
    sg = cfg.secondary_gies
    assert [(g.index, g.gie_unique_id, g.operate_on_gie_id, g.operate_on_class_ids) for g in sg] == [
        (0, 2, 1, [2, 5, 7]), (1, 3, 1, [0])]
    assert [k.type for k in cfg.sinks] == [SinkType.FILE, SinkType.FAKE, SinkType.DISPLAY]
    assert [k.type for k in cfg.active_sinks] == [SinkType.FILE, SinkType.FAKE]


def test_rtsp_and_msgbroker_samples():
    rtsp = load_app_config(SAMPLES / "source1_rtsp_out.txt")
    (k,) = rtsp.sinks
    assert (k.type, k.rtsp_port, k.udp_port, k.sync) == (SinkType.RTSP, 8554, 5400, True) and rtsp.tests.file_loop
    mb = load_app_config(SAMPLES / "source2_msgbroker.txt")
    broker = mb.sinks[1]
    assert (broker.type, broker.msg_broker_proto_lib, broker.msg_broker_conn_str, broker.topic) == (
        SinkType.MSG_CONV_BROKER, "libnvds_mqtt_proto.so", "localhost;1883", "vistream/events")
    assert (broker.msg_conv_payload_type, broker.msg_conv_frame_interval) == (0, 30)
    (cons,) = mb.message_consumers
    assert not cons.enable and cons.subscribe_topic_list == ["vistream/commands", "vistream/config"]


def test_defaults_and_batch_size_from_sources(tmp_path):
    p = write(tmp_path, MINIMAL + "[source1]\ntype=3\nuri=file:///data/a.mp4\nnum-sources=3\n")
    cfg = load_app_config(p)
    assert cfg.streammux.batch_size is None and cfg.num_streams == 4 and cfg.batch_size == 4
    assert cfg.sources[0].uri == "file://" + str(tmp_path / "video.mp4")
    assert cfg.sources[1].uri == "file:///data/a.mp4" and cfg.sources[1].stream_count == 3
    assert (cfg.streammux.width, cfg.streammux.height, cfg.streammux.attach_sys_ts_as_ntp) == (1920, 1080, True)
    assert cfg.primary_gie is None and cfg.tracker is None and cfg.osd.enable and cfg.osd.display_bbox


def test_uri_forms(tmp_path):
    text = MINIMAL.replace("uri=file://video.mp4", "uri=sub/my%20clip.mp4") + (
        "[source1]\ntype=4\nuri=rtsp://cam.local:554/stream\nlatency=200\nselect-rtp-protocol=4\n")
    cfg = load_app_config(write(tmp_path, text))
    assert cfg.sources[0].uri == "file://" + str(tmp_path / "sub/my clip.mp4").replace(" ", "%20")
    s1 = cfg.sources[1]
    assert (s1.uri, s1.latency, s1.select_rtp_protocol, s1.is_live) == ("rtsp://cam.local:554/stream", 200, 4, True)


@pytest.mark.parametrize(("extra", "line", "msg"), [
    ("[osd]\ntext-color=1;0;0\n", 10, "4 components"),
    ("[osd]\ntext-color=1;0;2;1\n", 10, "4 components in 0..1"),
    ("[osd]\nclock-color=red\n", 10, "expected a colour"),
    ("[sink1]\ntype=9\n", 10, "expected one of 1 (fake), 2 (display)"),
    ("[streammux]\nbatch-size=0\n", 10, "out of range [1, inf]"),
    ("[streammux]\nwidth=wide\n", 10, "expected an integer"),
    ("[tracker]\nenable=yes please\n", 10, "expected 0/1"),
    ("[primary-gie]\noperate-on-class-ids=0;x\n", 10, "list of integers"),
    ("[primary-gie]\nenable=1\n", 9, "config-file is required"),
    ("[sink1]\ntype=3\n", 9, "needs output-file"),
    ("[sink1]\ntype=6\nmsg-broker-conn-str=h;1\n", 9, "needs msg-broker-proto-lib"),
    ("[sink1]\ntype=6\nmsg-broker-proto-lib=libnvds_kafka_proto.so\n", 9, "needs msg-broker-conn-str"),
    ("[sink1]\ntype=1\nsource-id=3\n", 11, "source 3 does not exist (1 streams)"),
    ("[source1]\ntype=4\nuri=file://x.mp4\n", 11, "needs an rtsp:// uri"),
    ("[source1]\ntype=2\n", 9, "needs a uri"),
    ("[nvds-analytics]\nenable=1\n", 9, "has no config-file"),
    ("[primary-gie]\nconfig-file=p.txt\ngie-unique-id=1\n[secondary-gie0]\nconfig-file=s.txt\ngie-unique-id=1\n", 14,
     "already used by [primary-gie]"),
    ("[primary-gie]\nconfig-file=p.txt\ngie-unique-id=1\n[secondary-gie0]\nconfig-file=s.txt\ngie-unique-id=2\n"
     "operate-on-gie-id=7\n", 15, "no enabled gie has gie-unique-id=7"),
    ("[source0\n", 9, "malformed group header"),
])
def test_bad_values_raise_with_file_and_line(tmp_path, extra, line, msg):
    p = write(tmp_path, MINIMAL + extra)
    with pytest.raises(AppConfigError) as exc:
        load_app_config(p)
    assert str(exc.value).startswith(f"{p}:{line}: "), str(exc.value)
    assert msg in str(exc.value)


def test_no_sources_or_sinks(tmp_path):
    with pytest.raises(AppConfigError, match="no enabled \\[sourceN\\]"):
        load_app_config(write(tmp_path, MINIMAL.replace("enable=1\ntype=2", "enable=0\ntype=2")))
    with pytest.raises(AppConfigError, match="no enabled \\[sinkN\\]"):
        load_app_config(write(tmp_path, MINIMAL.replace("enable=1\ntype=1", "enable=0\ntype=1")))
    with pytest.raises(AppConfigError, match="config file not found"):
        load_app_config(tmp_path / "missing.txt")


def test_unknown_groups_and_keys_warn_with_line(tmp_path):
    p = write(tmp_path, MINIMAL + "[osd]\nborder-width=3\nshadow=1\n[img-save]\nenable=0\n")
    with pytest.warns(ConfigWarning) as rec:
        cfg = load_app_config(p)
    assert [str(w.message) for w in rec] == [
        f"{p}:11: [osd] unknown key 'shadow' (ignored)", f"{p}:12: unknown group [img-save] (ignored)"]
    assert cfg.osd.border_width == 3


def test_key_lines_and_paths(tmp_path):
    p = write(tmp_path, MINIMAL + "[tracker]\nenable=1\nll-lib-file=./libs/libtrack.so\nll-config-file=/abs/t.yml\n"
              "[application]\ngie-kitti-output-dir=kitti\n[ds-example]\nenable=1\nblur-objects=1\n")
    cfg = load_app_config(p)
    assert cfg.tracker.ll_lib_file == str(tmp_path / "libs/libtrack.so")
    assert cfg.tracker.ll_config_file == Path("/abs/t.yml")
    assert cfg.application.gie_kitti_output_dir == tmp_path / "kitti"
    assert cfg.tracker.line == 9 and cfg.tracker.key_lines["ll-config-file"] == 12
    assert cfg.tracker.where(str(p), "ll-lib-file") == f"{p}:11"
    assert cfg.ds_example.enable and cfg.ds_example.blur_objects and cfg.ds_example.unique_id == 15


def test_accepted_keys_cover_the_documented_gie_keys():
    keys = accepted_keys(GieConfig)
    for k in ("enable", "config-file", "gie-unique-id", "operate-on-gie-id", "operate-on-class-ids", "batch-size",
              "interval", "model-engine-file", "bbox-border-color<N>", "bbox-bg-color<N>"):
        assert k in keys


def test_source_list_with_attributes(tmp_path):
    p = write(tmp_path, MINIMAL + """
        [source-list]
        num-source-bins=2
        list=file://a.mp4;rtsp://cam/1;
        sensor-id-list=door;hall
        use-nvmultiurisrcbin=1
        max-batch-size=8
        http-port=9010
        [source-attr-all]
        enable=1
        type=3
        latency=250
        bogus=1
        """.replace("\n        ", "\n"))
    with pytest.warns(ConfigWarning, match=r"app\.txt:21: \[source-attr-all\] unknown key 'bogus'") as rec:
        cfg = load_app_config(p)
    assert len(rec) == 1  # the shared attributes are read once
    assert [(s.index, s.uri, s.sensor_id, s.latency, s.type) for s in cfg.sources[1:]] == [
        (1, "file://" + str(tmp_path / "a.mp4"), "door", 250, SourceType.MULTI_URI),
        (2, "rtsp://cam/1", "hall", 250, SourceType.MULTI_URI)]
    sl = cfg.source_list
    assert (sl.use_nvmultiurisrcbin, sl.max_batch_size, sl.http_port, sl.http_ip) == (True, 8, 9010, "localhost")
    bad = write(tmp_path, MINIMAL + "[source-list]\nlist=a.mp4;b.mp4\nsensor-id-list=x\n", "bad.txt")
    with pytest.raises(AppConfigError, match=r"bad\.txt:11: \[source-list\] sensor-id-list: has 1 items but list has 2"):
        load_app_config(bad)
