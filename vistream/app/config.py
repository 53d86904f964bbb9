"""The deepstream-app config file (``deepstream_app_config.txt``) as typed dataclasses.

>>> cfg = load_app_config("samples/configs/deepstream-app/source1_file_to_file.txt")  # doctest: +SKIP
>>> [s.uri for s in cfg.active_sources]  # doctest: +SKIP
['file:///.../samples/videos/people_walkway_800x450.mp4']

Groups: ``[application]``, ``[tiled-display]``, ``[sourceN]`` (or ``[source-list]`` + ``[source-attr-all]``),
``[streammux]``, ``[primary-gie]``, ``[secondary-gieN]``, ``[tracker]``, ``[nvds-analytics]``, ``[osd]``,
``[sinkN]``, ``[message-converter]``, ``[message-consumerN]``, ``[tests]``, ``[ds-example]``. File paths are resolved against the config file's
directory (a bare library name such as ``libnvds_kafka_proto.so`` is kept as is); ``file://`` URIs with a
relative path likewise. An unknown group or key gives a :class:`ConfigWarning` naming ``file:line``; a bad
value raises :class:`AppConfigError` naming ``file:line``. Keys DeepStream accepts for GPU memory placement
(``gpu-id``, ``nvbuf-memory-type``, ``cudadec-memtype`` ...) are parsed and kept, though a CPU run ignores them.
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from vistream.analytics.keyfile import (
    ConfigWarning,
    Entry,
    Group,
    KeyFile,
    KeyFileError,
    parse_int,
    split_list,
)
from vistream.meta import ColorParams

__all__ = [
    "AnalyticsGroupConfig", "AppConfig", "AppConfigError", "ApplicationConfig", "ConfigWarning", "ContainerType",
    "DsExampleConfig", "EncoderCodec", "GieConfig", "SourceListConfig", "MessageConsumerConfig", "MessageConverterConfig",
    "OsdConfig", "SinkConfig", "SinkType", "SourceConfig", "SourceType", "StreammuxConfig", "TestsConfig",
    "TiledDisplayConfig", "TrackerConfig", "accepted_keys", "load_app_config", "parse_app_config", "parse_app_text",
]


class AppConfigError(KeyFileError):
    """A bad deepstream-app config; the message starts with ``file:line:``."""


class SourceType(IntEnum):
    """``[sourceN] type``."""

    CAMERA_V4L2 = 1
    URI = 2
    MULTI_URI = 3
    RTSP = 4
    CAMERA_CSI = 5


class SinkType(IntEnum):
    """``[sinkN] type``."""

    FAKE = 1
    DISPLAY = 2  # EGL / X window
    FILE = 3
    RTSP = 4  # encode + RTP/UDP + RTSP server
    OVERLAY = 5  # overlay plane; rendered like DISPLAY
    MSG_CONV_BROKER = 6  # nvmsgconv + nvmsgbroker


class ContainerType(IntEnum):
    MP4 = 1
    MKV = 2


class EncoderCodec(IntEnum):
    H264 = 1
    H265 = 2
    MPEG4 = 3


# -- value parsers: (group, entry, base_dir) -> value ------------------------------------------------------
Parser = Callable[[Group, Entry, Path], Any]


def _err(group: Group, e: Entry | None, message: str) -> AppConfigError:
    base = group.error(e, message)
    return AppConfigError(base.path, base.line, base.detail)


def _int(lo: int | None = None, hi: int | None = None) -> Parser:
    def parse(g: Group, e: Entry, _base: Path) -> int:
        v = parse_int(e.value)
        if v is None:
            raise _err(g, e, f"expected an integer, got {e.value!r}")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise _err(g, e, f"value {v} is out of range [{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]")
        return v
    return parse


def _bool(g: Group, e: Entry, _base: Path) -> bool:
    v = e.value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise _err(g, e, f"expected 0/1 or true/false, got {e.value!r}")


def _enum(kind: type[IntEnum]) -> Parser:
    def parse(g: Group, e: Entry, _base: Path) -> IntEnum:
        v = parse_int(e.value)
        try:
            return kind(v)
        except ValueError:
            allowed = ", ".join(f"{m.value} ({m.name.lower()})" for m in kind)
            raise _err(g, e, f"expected one of {allowed}, got {e.value!r}") from None
    return parse


def _str(g: Group, e: Entry, _base: Path) -> str:
    return e.value


def _str_list(g: Group, e: Entry, _base: Path) -> list[str]:
    return split_list(e.value)


def _int_list(g: Group, e: Entry, _base: Path) -> list[int]:
    out = []
    for item in split_list(e.value):
        v = parse_int(item)
        if v is None:
            raise _err(g, e, f"expected a ';'-separated list of integers, got {item!r} in {e.value!r}")
        out.append(v)
    return out


def _color(g: Group, e: Entry, _base: Path) -> ColorParams:
    items = split_list(e.value)
    try:
        vals = [float(x) for x in items]
    except ValueError:
        raise _err(g, e, f"expected a colour R;G;B;A with components in 0..1, got {e.value!r}") from None
    if len(vals) != 4 or any(not 0.0 <= v <= 1.0 for v in vals):
        raise _err(g, e, f"expected a colour R;G;B;A with 4 components in 0..1, got {e.value!r}")
    return ColorParams(*vals)


def _path(g: Group, e: Entry, base: Path) -> Path:
    if not e.value:
        raise _err(g, e, "empty path")
    p = Path(e.value).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def _lib(g: Group, e: Entry, base: Path) -> str:
    """A shared-library name: kept as is when it has no directory part (looked up by name), else a path."""
    if not e.value:
        raise _err(g, e, "empty library name")
    return e.value if "/" not in e.value else str(_path(g, e, base))


def _uri(g: Group, e: Entry, base: Path) -> str:
    v = e.value.strip()
    if not v:
        raise _err(g, e, "empty uri")
    parts = urlsplit(v)
    if parts.scheme == "file" or not parts.scheme:
        # file://relative/path has its first component parsed as the host: rebuild the path from both.
        raw = v[len("file://"):] if v.startswith("file://") else (v[len("file:"):] if v.startswith("file:") else v)
        p = Path(unquote(raw)).expanduser()
        if not p.is_absolute():
            p = (base / p).resolve()
        return "file://" + quote(str(p))
    if not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9+.-]*", parts.scheme):
        raise _err(g, e, f"malformed uri {v!r}")
    return v


@dataclass
class _Base:
    """Shared bookkeeping: where the group and each key came from (for the runner's own error messages)."""

    line: int = field(default=0, kw_only=True, repr=False)
    key_lines: dict[str, int] = field(default_factory=dict, kw_only=True, repr=False)

    def where(self, path: str, key: str | None = None) -> str:
        """``file:line`` of ``key`` (or of the group header)."""
        return f"{path}:{self.key_lines.get(key, self.line) if key else self.line}"


@dataclass
class ApplicationConfig(_Base):
    enable_perf_measurement: bool = False
    perf_measurement_interval_sec: int = 5
    gie_kitti_output_dir: Path | None = None
    kitti_track_output_dir: Path | None = None
    reid_track_output_dir: Path | None = None
    terminated_track_output_dir: Path | None = None


@dataclass
class TiledDisplayConfig(_Base):
    enable: bool = False
    rows: int = 1
    columns: int = 1
    width: int = 1280
    height: int = 720
    gpu_id: int = 0
    nvbuf_memory_type: int = 0


@dataclass
class SourceConfig(_Base):
    """One ``[sourceN]`` group; ``uri`` is absolute (``file://`` resolved against the config directory)."""

    index: int = 0
    enable: bool = True
    type: SourceType = SourceType.URI
    uri: str | None = None
    num_sources: int = 1
    drop_frame_interval: int = 0
    camera_width: int = 640
    camera_height: int = 480
    camera_fps_n: int = 30
    camera_fps_d: int = 1
    camera_v4l2_dev_node: int = 0
    camera_csi_sensor_id: int = 0
    latency: int = 100
    rtsp_reconnect_interval_sec: int = 0
    rtsp_reconnect_attempts: int = -1
    select_rtp_protocol: int = 0
    gpu_id: int = 0
    cudadec_memtype: int = 0
    nvbuf_memory_type: int = 0
    num_extra_surfaces: int = 0
    intra_decode_enable: bool = False
    camera_id: int | None = None
    sensor_id: str | None = None  # from [source-list] sensor-id-list
    sensor_name: str | None = None  # from [source-list] sensor-name-list

    @property
    def is_live(self) -> bool:
        return self.type in (SourceType.CAMERA_V4L2, SourceType.CAMERA_CSI, SourceType.RTSP)

    @property
    def stream_count(self) -> int:
        """How many streams this group feeds into the muxer (``num-sources`` for type 3, else 1)."""
        return self.num_sources if self.type == SourceType.MULTI_URI else 1


@dataclass
class SourceListConfig(_Base):
    """``[source-list]`` (deepstream-app 6.2+): many URIs in one group, each becoming a :class:`SourceConfig`
    with the keys of ``[source-attr-all]``. ``use_nvmultiurisrcbin`` and the ``http-*`` keys describe the REST
    server that adds and removes streams at run time."""

    uris: list[str] = field(default_factory=list)
    num_source_bins: int | None = None
    sensor_id_list: list[str] = field(default_factory=list)
    sensor_name_list: list[str] = field(default_factory=list)
    use_nvmultiurisrcbin: bool = False
    stream_name_display: bool = False
    http_ip: str = "localhost"
    http_port: int = 9000
    max_batch_size: int | None = None


def _uri_list(g: Group, e: Entry, base: Path) -> list[str]:
    return [_uri(g, Entry(e.key, item, e.line), base) for item in split_list(e.value)]


@dataclass
class StreammuxConfig(_Base):
    """``[streammux]``; ``batch_size`` None means "one per source" (:attr:`AppConfig.batch_size`)."""

    batch_size: int | None = None
    batched_push_timeout: int = -1  # microseconds; -1 waits for a full batch
    width: int = 1920
    height: int = 1080
    enable_padding: bool = False
    live_source: bool = False
    attach_sys_ts_as_ntp: bool = True
    gpu_id: int = 0
    nvbuf_memory_type: int = 0
    buffer_pool_size: int = 4
    sync_inputs: bool = False
    max_latency: int = 0
    frame_num_reset_on_eos: bool = False
    config_file: Path | None = None


@dataclass
class GieConfig(_Base):
    """``[primary-gie]`` (``index`` None) or ``[secondary-gieN]``.

    ``bbox_border_colors`` / ``bbox_bg_colors`` map a class id to its colour (``bbox-border-color<id>``).
    """

    index: int | None = None
    enable: bool = True
    config_file: Path | None = None
    gie_unique_id: int | None = None
    operate_on_gie_id: int = -1
    operate_on_class_ids: list[int] = field(default_factory=list)
    batch_size: int | None = None
    interval: int | None = None
    model_engine_file: Path | None = None
    labelfile_path: Path | None = None
    bbox_border_colors: dict[int, ColorParams] = field(default_factory=dict)
    bbox_bg_colors: dict[int, ColorParams] = field(default_factory=dict)
    plugin_type: int = 0  # 0 nvinfer, 1 nvinferserver
    gpu_id: int = 0
    nvbuf_memory_type: int = 0
    input_tensor_meta: bool = False

    @property
    def is_primary(self) -> bool:
        return self.index is None


@dataclass
class TrackerConfig(_Base):
    enable: bool = False
    tracker_width: int = 640
    tracker_height: int = 384
    ll_lib_file: str | None = None
    ll_config_file: Path | None = None
    gpu_id: int = 0
    display_tracking_id: bool = True
    enable_batch_process: bool = True
    enable_past_frame: bool = False
    tracking_id_reset_mode: int = 0
    tracking_surface_type: int = 0
    compute_hw: int = 0
    user_meta_pool_size: int = 16


@dataclass
class AnalyticsGroupConfig(_Base):
    """``[nvds-analytics]``: ``config_file`` is the nvdsanalytics rules file."""

    enable: bool = False
    config_file: Path | None = None
    unique_id: int | None = None


@dataclass
class OsdConfig(_Base):
    enable: bool = True
    border_width: int = 1
    text_size: int = 15
    text_color: ColorParams = field(default_factory=lambda: ColorParams(1.0, 1.0, 1.0, 1.0))
    text_bg_color: ColorParams = field(default_factory=lambda: ColorParams(0.3, 0.3, 0.3, 1.0))
    font: str = "Serif"
    show_clock: bool = False
    clock_x_offset: int = 0
    clock_y_offset: int = 0
    clock_text_size: int = 12
    clock_color: ColorParams = field(default_factory=lambda: ColorParams(1.0, 0.0, 0.0, 1.0))
    process_mode: int = 1  # 0 CPU, 1 GPU (DeepStream); vistream draws on the CPU either way
    display_text: bool = True
    display_bbox: bool = True
    display_mask: bool = False
    gpu_id: int = 0
    nvbuf_memory_type: int = 0


@dataclass
class SinkConfig(_Base):
    """One ``[sinkN]`` group. ``source_id`` None: every source (through the tiler when enabled)."""

    index: int = 0
    enable: bool = True
    type: SinkType = SinkType.FAKE
    sync: bool = False
    source_id: int | None = None
    gpu_id: int = 0
    qos: bool = False
    nvbuf_memory_type: int = 0
    width: int = 0
    height: int = 0
    # encoded outputs (type 3 file, type 4 RTSP)
    container: ContainerType = ContainerType.MP4
    codec: EncoderCodec = EncoderCodec.H264
    enc_type: int = 0  # 0 hardware, 1 software
    bitrate: int = 4_000_000
    profile: int = 0
    iframeinterval: int = 30
    output_file: Path | None = None
    rtsp_port: int = 8554
    udp_port: int = 5400
    udp_buffer_size: int = 524288
    # displays
    overlay_id: int = 0
    display_id: int = 0
    offset_x: int = 0
    offset_y: int = 0
    # type 6: message converter + broker
    msg_conv_config: Path | None = None
    msg_conv_payload_type: int = 0
    msg_conv_msg2p_lib: str | None = None
    msg_conv_comp_id: int = 0
    msg_conv_frame_interval: int = 30
    msg_conv_msg2p_new_api: bool = False
    msg_broker_proto_lib: str | None = None
    msg_broker_conn_str: str | None = None
    topic: str | None = None
    msg_broker_config: Path | None = None
    msg_broker_comp_id: int = 0
    new_api: bool = False
    disable_msgconv: bool = False


@dataclass
class MessageConverterConfig(_Base):
    enable: bool = False
    msg_conv_config: Path | None = None
    msg_conv_payload_type: int = 0
    msg_conv_msg2p_lib: str | None = None
    msg_conv_comp_id: int = 0
    msg_conv_msg2p_new_api: bool = False
    msg_conv_frame_interval: int = 30


@dataclass
class MessageConsumerConfig(_Base):
    index: int = 0
    enable: bool = False
    proto_lib: str | None = None
    conn_str: str | None = None
    config_file: Path | None = None
    subscribe_topic_list: list[str] = field(default_factory=list)
    sensor_list_file: Path | None = None


@dataclass
class TestsConfig(_Base):
    file_loop: bool = False


@dataclass
class DsExampleConfig(_Base):
    enable: bool = False
    processing_width: int = 640
    processing_height: int = 480
    full_frame: bool = True
    unique_id: int = 15
    gpu_id: int = 0
    blur_objects: bool = False
    nvbuf_memory_type: int = 0


@dataclass
class AppConfig:
    """A parsed deepstream-app config. Disabled ``[sourceN]`` / ``[sinkN]`` groups are kept (``enable=False``);
    :attr:`active_sources` and :attr:`active_sinks` list the enabled ones."""

    path: str = "<string>"
    application: ApplicationConfig = field(default_factory=ApplicationConfig)
    tiled_display: TiledDisplayConfig = field(default_factory=TiledDisplayConfig)
    sources: list[SourceConfig] = field(default_factory=list)
    streammux: StreammuxConfig = field(default_factory=StreammuxConfig)
    source_list: SourceListConfig | None = None
    primary_gie: GieConfig | None = None
    secondary_gies: list[GieConfig] = field(default_factory=list)
    tracker: TrackerConfig | None = None
    analytics: AnalyticsGroupConfig | None = None
    osd: OsdConfig = field(default_factory=OsdConfig)
    sinks: list[SinkConfig] = field(default_factory=list)
    message_converter: MessageConverterConfig | None = None
    message_consumers: list[MessageConsumerConfig] = field(default_factory=list)
    tests: TestsConfig = field(default_factory=TestsConfig)
    ds_example: DsExampleConfig | None = None

    @property
    def active_sources(self) -> list[SourceConfig]:
        return [s for s in self.sources if s.enable]

    @property
    def active_sinks(self) -> list[SinkConfig]:
        return [s for s in self.sinks if s.enable]

    @property
    def num_streams(self) -> int:
        """Streams entering the muxer (a type-3 source counts ``num-sources`` times)."""
        return sum(s.stream_count for s in self.active_sources)

    @property
    def batch_size(self) -> int:
        """The muxer batch size: ``[streammux] batch-size``, else one per stream, as deepstream-app."""
        return self.streammux.batch_size or self.num_streams


# -- key tables: config key -> (attribute, parser) ----------------------------------------------------------
_P = _path
_SPECS: dict[type, dict[str, tuple[str, Parser]]] = {
    ApplicationConfig: {
        "enable-perf-measurement": ("enable_perf_measurement", _bool),
        "perf-measurement-interval-sec": ("perf_measurement_interval_sec", _int(1)),
        "gie-kitti-output-dir": ("gie_kitti_output_dir", _P),
        "kitti-track-output-dir": ("kitti_track_output_dir", _P),
        "reid-track-output-dir": ("reid_track_output_dir", _P),
        "terminated-track-output-dir": ("terminated_track_output_dir", _P),
    },
    TiledDisplayConfig: {
        "enable": ("enable", _bool), "rows": ("rows", _int(1)), "columns": ("columns", _int(1)),
        "width": ("width", _int(1)), "height": ("height", _int(1)), "gpu-id": ("gpu_id", _int(0)),
        "nvbuf-memory-type": ("nvbuf_memory_type", _int(0)),
    },
    SourceConfig: {
        "enable": ("enable", _bool), "type": ("type", _enum(SourceType)), "uri": ("uri", _uri),
        "num-sources": ("num_sources", _int(1)), "drop-frame-interval": ("drop_frame_interval", _int(0)),
        "camera-width": ("camera_width", _int(1)), "camera-height": ("camera_height", _int(1)),
        "camera-fps-n": ("camera_fps_n", _int(1)), "camera-fps-d": ("camera_fps_d", _int(1)),
        "camera-v4l2-dev-node": ("camera_v4l2_dev_node", _int(0)),
        "camera-csi-sensor-id": ("camera_csi_sensor_id", _int(0)), "latency": ("latency", _int(0)),
        "rtsp-reconnect-interval-sec": ("rtsp_reconnect_interval_sec", _int(0)),
        "rtsp-reconnect-attempts": ("rtsp_reconnect_attempts", _int(-1)),
        "select-rtp-protocol": ("select_rtp_protocol", _int(0)), "gpu-id": ("gpu_id", _int(0)),
        "cudadec-memtype": ("cudadec_memtype", _int(0, 2)), "nvbuf-memory-type": ("nvbuf_memory_type", _int(0)),
        "num-extra-surfaces": ("num_extra_surfaces", _int(0)), "intra-decode-enable": ("intra_decode_enable", _bool),
        "camera-id": ("camera_id", _int(0)),
    },
    SourceListConfig: {
        "list": ("uris", _uri_list), "num-source-bins": ("num_source_bins", _int(0)),
        "sensor-id-list": ("sensor_id_list", _str_list), "sensor-name-list": ("sensor_name_list", _str_list),
        "use-nvmultiurisrcbin": ("use_nvmultiurisrcbin", _bool), "stream-name-display": ("stream_name_display", _bool),
        "http-ip": ("http_ip", _str), "http-port": ("http_port", _int(1, 65535)),
        "max-batch-size": ("max_batch_size", _int(1)),
    },
    StreammuxConfig: {
        "batch-size": ("batch_size", _int(1)), "batched-push-timeout": ("batched_push_timeout", _int(-1)),
        "width": ("width", _int(1)), "height": ("height", _int(1)), "enable-padding": ("enable_padding", _bool),
        "live-source": ("live_source", _bool), "attach-sys-ts-as-ntp": ("attach_sys_ts_as_ntp", _bool),
        "gpu-id": ("gpu_id", _int(0)), "nvbuf-memory-type": ("nvbuf_memory_type", _int(0)),
        "buffer-pool-size": ("buffer_pool_size", _int(1)), "sync-inputs": ("sync_inputs", _bool),
        "max-latency": ("max_latency", _int(0)), "frame-num-reset-on-eos": ("frame_num_reset_on_eos", _bool),
        "config-file": ("config_file", _P),
    },
    GieConfig: {
        "enable": ("enable", _bool), "config-file": ("config_file", _P), "gie-unique-id": ("gie_unique_id", _int(1)),
        "operate-on-gie-id": ("operate_on_gie_id", _int(-1)), "operate-on-class-ids": ("operate_on_class_ids", _int_list),
        "batch-size": ("batch_size", _int(1)), "interval": ("interval", _int(0)),
        "model-engine-file": ("model_engine_file", _P), "labelfile-path": ("labelfile_path", _P),
        "plugin-type": ("plugin_type", _int(0, 1)), "gpu-id": ("gpu_id", _int(0)),
        "nvbuf-memory-type": ("nvbuf_memory_type", _int(0)), "input-tensor-meta": ("input_tensor_meta", _bool),
    },
    TrackerConfig: {
        "enable": ("enable", _bool), "tracker-width": ("tracker_width", _int(1)),
        "tracker-height": ("tracker_height", _int(1)), "ll-lib-file": ("ll_lib_file", _lib),
        "ll-config-file": ("ll_config_file", _P), "gpu-id": ("gpu_id", _int(0)),
        "display-tracking-id": ("display_tracking_id", _bool), "enable-batch-process": ("enable_batch_process", _bool),
        "enable-past-frame": ("enable_past_frame", _bool), "tracking-id-reset-mode": ("tracking_id_reset_mode", _int(0)),
        "tracking-surface-type": ("tracking_surface_type", _int(0)), "compute-hw": ("compute_hw", _int(0)),
        "user-meta-pool-size": ("user_meta_pool_size", _int(1)),
    },
    AnalyticsGroupConfig: {
        "enable": ("enable", _bool), "config-file": ("config_file", _P), "unique-id": ("unique_id", _int(0)),
    },
    OsdConfig: {
        "enable": ("enable", _bool), "border-width": ("border_width", _int(0)), "text-size": ("text_size", _int(1)),
        "text-color": ("text_color", _color), "text-bg-color": ("text_bg_color", _color), "font": ("font", _str),
        "show-clock": ("show_clock", _bool), "clock-x-offset": ("clock_x_offset", _int(0)),
        "clock-y-offset": ("clock_y_offset", _int(0)), "clock-text-size": ("clock_text_size", _int(1)),
        "clock-color": ("clock_color", _color), "process-mode": ("process_mode", _int(0, 2)),
        "display-text": ("display_text", _bool), "display-bbox": ("display_bbox", _bool),
        "display-mask": ("display_mask", _bool), "gpu-id": ("gpu_id", _int(0)),
        "nvbuf-memory-type": ("nvbuf_memory_type", _int(0)),
    },
    SinkConfig: {
        "enable": ("enable", _bool), "type": ("type", _enum(SinkType)), "sync": ("sync", _bool),
        "source-id": ("source_id", _int(0)), "gpu-id": ("gpu_id", _int(0)), "qos": ("qos", _bool),
        "nvbuf-memory-type": ("nvbuf_memory_type", _int(0)), "width": ("width", _int(0)), "height": ("height", _int(0)),
        "container": ("container", _enum(ContainerType)), "codec": ("codec", _enum(EncoderCodec)),
        "enc-type": ("enc_type", _int(0, 1)), "bitrate": ("bitrate", _int(1)), "profile": ("profile", _int(0)),
        "iframeinterval": ("iframeinterval", _int(1)), "output-file": ("output_file", _P),
        "rtsp-port": ("rtsp_port", _int(1, 65535)), "udp-port": ("udp_port", _int(1, 65535)),
        "udp-buffer-size": ("udp_buffer_size", _int(1)), "overlay-id": ("overlay_id", _int(0)),
        "display-id": ("display_id", _int(0)), "offset-x": ("offset_x", _int(0)), "offset-y": ("offset_y", _int(0)),
        "msg-conv-config": ("msg_conv_config", _P), "msg-conv-payload-type": ("msg_conv_payload_type", _int(0)),
        "msg-conv-msg2p-lib": ("msg_conv_msg2p_lib", _lib), "msg-conv-comp-id": ("msg_conv_comp_id", _int(0)),
        "msg-conv-frame-interval": ("msg_conv_frame_interval", _int(1)),
        "msg-conv-msg2p-new-api": ("msg_conv_msg2p_new_api", _bool),
        "msg-broker-proto-lib": ("msg_broker_proto_lib", _lib), "msg-broker-conn-str": ("msg_broker_conn_str", _str),
        "topic": ("topic", _str), "msg-broker-config": ("msg_broker_config", _P),
        "msg-broker-comp-id": ("msg_broker_comp_id", _int(0)), "new-api": ("new_api", _bool),
        "disable-msgconv": ("disable_msgconv", _bool),
    },
    MessageConverterConfig: {
        "enable": ("enable", _bool), "msg-conv-config": ("msg_conv_config", _P),
        "msg-conv-payload-type": ("msg_conv_payload_type", _int(0)), "msg-conv-msg2p-lib": ("msg_conv_msg2p_lib", _lib),
        "msg-conv-comp-id": ("msg_conv_comp_id", _int(0)), "msg-conv-msg2p-new-api": ("msg_conv_msg2p_new_api", _bool),
        "msg-conv-frame-interval": ("msg_conv_frame_interval", _int(1)),
    },
    MessageConsumerConfig: {
        "enable": ("enable", _bool), "proto-lib": ("proto_lib", _lib), "conn-str": ("conn_str", _str),
        "config-file": ("config_file", _P), "subscribe-topic-list": ("subscribe_topic_list", _str_list),
        "sensor-list-file": ("sensor_list_file", _P),
    },
    TestsConfig: {"file-loop": ("file_loop", _bool)},
    DsExampleConfig: {
        "enable": ("enable", _bool), "processing-width": ("processing_width", _int(1)),
        "processing-height": ("processing_height", _int(1)), "full-frame": ("full_frame", _bool),
        "unique-id": ("unique_id", _int(0)), "gpu-id": ("gpu_id", _int(0)), "blur-objects": ("blur_objects", _bool),
        "nvbuf-memory-type": ("nvbuf_memory_type", _int(0)),
    },
}
_GIE_COLOR = re.compile(r"^bbox-(border|bg)-color(\d+)$")


def _fill(obj: _Base, group: Group, base: Path) -> _Base:
    spec = _SPECS[type(obj)]
    obj.line = group.line
    for e in group:
        obj.key_lines[e.key] = e.line
        if e.key in spec:
            attr, parse = spec[e.key]
            setattr(obj, attr, parse(group, e, base))
        elif isinstance(obj, GieConfig) and (m := _GIE_COLOR.match(e.key)):
            target = obj.bbox_border_colors if m.group(1) == "border" else obj.bbox_bg_colors
            target[int(m.group(2))] = _color(group, e, base)
        else:
            warnings.warn(f"{group.path}:{e.line}: [{group.name}] unknown key {e.key!r} (ignored)", ConfigWarning,
                          stacklevel=3)
    return obj


_INDEXED = re.compile(r"^(source|sink|secondary-gie|message-consumer)(\d+)$")
_SINGLE = {
    "application": ("application", ApplicationConfig), "tiled-display": ("tiled_display", TiledDisplayConfig),
    "streammux": ("streammux", StreammuxConfig), "primary-gie": ("primary_gie", GieConfig),
    "tracker": ("tracker", TrackerConfig), "nvds-analytics": ("analytics", AnalyticsGroupConfig),
    "osd": ("osd", OsdConfig), "message-converter": ("message_converter", MessageConverterConfig),
    "tests": ("tests", TestsConfig), "ds-example": ("ds_example", DsExampleConfig),
}
_INDEXED_KIND = {"source": ("sources", SourceConfig), "sink": ("sinks", SinkConfig),
                 "secondary-gie": ("secondary_gies", GieConfig),
                 "message-consumer": ("message_consumers", MessageConsumerConfig)}


def parse_app_config(kf: KeyFile) -> AppConfig:
    """Build and check an :class:`AppConfig` from a parsed key file."""
    cfg = AppConfig(path=kf.path)
    base = Path(kf.path).resolve().parent
    groups: dict[str, Group] = {}
    for group in kf:
        if group.name in _SINGLE:
            attr, kind = _SINGLE[group.name]
            setattr(cfg, attr, _fill(kind(), group, base))
            groups[attr] = group
        elif m := _INDEXED.match(group.name):
            attr, kind = _INDEXED_KIND[m.group(1)]
            getattr(cfg, attr).append(_fill(kind(index=int(m.group(2))), group, base))
            groups[group.name] = group
        elif group.name in ("source-list", "source-attr-all"):
            continue  # expanded below, once every [sourceN] is known
        else:
            warnings.warn(f"{kf.path}:{group.line}: unknown group [{group.name}] (ignored)", ConfigWarning,
                          stacklevel=3)
    for attr in ("sources", "sinks", "secondary_gies", "message_consumers"):
        getattr(cfg, attr).sort(key=lambda c: c.index)
    if "source-list" in kf:
        _expand_source_list(cfg, kf, base)
    elif "source-attr-all" in kf:
        g = kf.group("source-attr-all")
        warnings.warn(f"{kf.path}:{g.line}: [source-attr-all] without [source-list] (ignored)", ConfigWarning,
                      stacklevel=3)
    _check(cfg, kf)
    return cfg


def _expand_source_list(cfg: AppConfig, kf: KeyFile, base: Path) -> None:
    """Turn ``[source-list]`` URIs into sources (indices after any ``[sourceN]``), attributes from
    ``[source-attr-all]``."""
    group = kf.group("source-list")
    sl = cfg.source_list = _fill(SourceListConfig(), group, base)
    for key, values in (("sensor-id-list", sl.sensor_id_list), ("sensor-name-list", sl.sensor_name_list)):
        if values and len(values) != len(sl.uris):
            raise _err(group, group.entry(key), f"has {len(values)} items but list has {len(sl.uris)} uris")
    if sl.num_source_bins is not None and sl.uris and sl.num_source_bins != len(sl.uris):
        raise _err(group, group.entry("num-source-bins"),
                   f"is {sl.num_source_bins} but list has {len(sl.uris)} uris")
    attrs = kf.group("source-attr-all")
    template = _fill(SourceConfig(), attrs, base) if attrs is not None else SourceConfig()
    first = max((s.index for s in cfg.sources), default=-1) + 1
    for k, uri in enumerate(sl.uris):
        src = copy.deepcopy(template)
        src.index, src.uri = first + k, uri
        src.line, src.key_lines = group.line, {**src.key_lines, "uri": group.entry("list").line}
        src.sensor_id = sl.sensor_id_list[k] if sl.sensor_id_list else None
        src.sensor_name = sl.sensor_name_list[k] if sl.sensor_name_list else None
        cfg.sources.append(src)


def _check(cfg: AppConfig, kf: KeyFile) -> None:
    """Cross-key checks deepstream-app makes before building the pipeline."""
    def err(item: _Base, group_name: str, key: str | None, message: str) -> AppConfigError:
        line = item.key_lines.get(key, item.line) if key else item.line
        return AppConfigError(kf.path, line, f"[{group_name}]{' ' + key if key else ''}: {message}")

    for s in cfg.active_sources:
        name = f"source{s.index}"
        if s.type in (SourceType.URI, SourceType.MULTI_URI, SourceType.RTSP) and not s.uri:
            raise err(s, name, None, f"type={int(s.type)} ({s.type.name.lower()}) needs a uri")
        if s.type == SourceType.RTSP and not s.uri.lower().startswith(("rtsp://", "rtsps://")):
            raise err(s, name, "uri", f"type=4 (rtsp) needs an rtsp:// uri, got {s.uri!r}")
    if not cfg.active_sources:
        raise AppConfigError(kf.path, 0, "no enabled [sourceN] group")
    for k in cfg.active_sinks:
        name = f"sink{k.index}"
        if k.type == SinkType.FILE and k.output_file is None:
            raise err(k, name, None, "type=3 (file) needs output-file")
        if k.type == SinkType.MSG_CONV_BROKER:
            if not k.msg_broker_proto_lib:
                raise err(k, name, None, "type=6 (message broker) needs msg-broker-proto-lib")
            if not k.msg_broker_conn_str and k.msg_broker_config is None:
                raise err(k, name, None, "type=6 (message broker) needs msg-broker-conn-str or msg-broker-config")
        if k.source_id is not None and k.source_id >= cfg.num_streams:
            raise err(k, name, "source-id", f"source {k.source_id} does not exist ({cfg.num_streams} streams)")
    if not cfg.active_sinks:
        raise AppConfigError(kf.path, 0, "no enabled [sinkN] group")
    gies = ([cfg.primary_gie] if cfg.primary_gie and cfg.primary_gie.enable else []) + [
        g for g in cfg.secondary_gies if g.enable]
    ids: dict[int, str] = {}
    for g in gies:
        name = "primary-gie" if g.is_primary else f"secondary-gie{g.index}"
        if g.config_file is None:
            raise err(g, name, None, "config-file is required")
        if g.gie_unique_id is not None:
            if g.gie_unique_id in ids:
                raise err(g, name, "gie-unique-id", f"{g.gie_unique_id} is already used by [{ids[g.gie_unique_id]}]")
            ids[g.gie_unique_id] = name
    for g in gies:
        if not g.is_primary and g.operate_on_gie_id != -1 and g.operate_on_gie_id not in ids:
            raise err(g, f"secondary-gie{g.index}", "operate-on-gie-id",
                      f"no enabled gie has gie-unique-id={g.operate_on_gie_id}")
    if cfg.tracker and cfg.tracker.enable and cfg.tracker.ll_config_file is None and cfg.tracker.ll_lib_file is None:
        raise err(cfg.tracker, "tracker", None, "enabled but has neither ll-lib-file nor ll-config-file")
    if cfg.analytics and cfg.analytics.enable and cfg.analytics.config_file is None:
        raise err(cfg.analytics, "nvds-analytics", None, "enabled but has no config-file")


def load_app_config(path: str | Path) -> AppConfig:
    """Read a deepstream-app config file (see the module docstring)."""
    try:
        kf = KeyFile.load(path)
    except KeyFileError as exc:
        raise AppConfigError(exc.path, exc.line, exc.detail) from None
    return parse_app_config(kf)


def parse_app_text(text: str, path: str | Path = "<string>") -> AppConfig:
    """Parse config text; relative paths resolve against ``path``'s directory."""
    try:
        kf = KeyFile.parse(text, str(path))
    except KeyFileError as exc:
        raise AppConfigError(exc.path, exc.line, exc.detail) from None
    return parse_app_config(kf)


def accepted_keys(kind: type) -> list[str]:
    """Every key a group dataclass (e.g. :class:`SinkConfig`) accepts, sorted."""
    return sorted(_SPECS[kind]) + (["bbox-bg-color<N>", "bbox-border-color<N>"] if kind is GieConfig else [])
