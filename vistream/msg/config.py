"""Config files of nvmsgconv and nvmsgbroker, in DeepStream's formats, with ``file:line`` errors.

* nvmsgconv config: GLib key file (``[sensor0]``, ``[place0]``, ``[analytics0]`` groups) or the same groups
  in YAML (``.yml`` / ``.yaml``) -> :class:`MsgConvConfig`.
* adapter config (``cfg_kafka.txt``, ``cfg_mqtt.txt``, ...): key file with a ``[message-broker]`` group ->
  :class:`AdapterConfig`, keys checked against the protocol's DeepStream keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A bad config value; the message names the file and line (or the element property)."""


@dataclass(slots=True)
class Value:
    text: str
    where: str  # "file:line"


def parse_keyfile(path: str | Path) -> dict[str, dict[str, Value]]:
    """Parse a GLib-style key file: ``[group]`` headers, ``key=value`` lines, ``#`` / ``;`` comments."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config file: {e.strerror or e}") from e
    groups: dict[str, dict[str, Value]] = {}
    current: dict[str, Value] | None = None
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                raise ConfigError(f"{path}:{n}: malformed group header {raw.strip()!r}")
            name = line[1:-1].strip()
            if name in groups:
                raise ConfigError(f"{path}:{n}: group [{name}] appears twice")
            current = groups[name] = {}
            continue
        if "=" not in line:
            raise ConfigError(f"{path}:{n}: expected 'key=value', got {raw.strip()!r}")
        if current is None:
            raise ConfigError(f"{path}:{n}: key outside of any [group]")
        key, val = (s.strip() for s in line.split("=", 1))
        # DeepStream sample configs quote some values (proto-cfg = "a=b;c=d")
        if len(val) >= 2 and val[0] == val[-1] == '"':
            val = val[1:-1]
        current[key] = Value(val, f"{path}:{n}")
    return groups


def _yaml_groups(path: Path) -> dict[str, dict[str, Value]]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config file: {e.strerror or e}") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML: {getattr(e, 'problem', e)}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of groups at the top level")
    out: dict[str, dict[str, Value]] = {}
    for g, kv in data.items():
        if not isinstance(kv, dict):
            raise ConfigError(f"{path}: group {g!r} must be a mapping")
        out[str(g)] = {str(k): Value(";".join(map(str, v)) if isinstance(v, list) else str(v), f"{path} [{g}].{k}")
                       for k, v in kv.items()}
    return out


def _floats3(v: Value, key: str) -> tuple[float, float, float]:
    parts = [p for p in re.split(r"[;,]", v.text) if p.strip()]
    try:
        vals = tuple(float(p) for p in parts)
    except ValueError:
        raise ConfigError(f"{v.where}: {key} must be three numbers separated by ';', got {v.text!r}") from None
    if len(vals) != 3:
        raise ConfigError(f"{v.where}: {key} must be three numbers separated by ';', got {v.text!r}")
    return vals  # type: ignore[return-value]


def _bool(v: Value, key: str) -> bool:
    t = v.text.lower()
    if t in ("1", "true", "yes", "on"):
        return True
    if t in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{v.where}: {key} must be 0 or 1, got {v.text!r}")


def as_bool(value: Any, name: str) -> bool:
    """An element property given as bool, int or string (``"1"``, ``"true"``, ``"no"``...) as a bool."""
    if isinstance(value, str):
        return _bool(Value(value.strip(), name), name)
    return bool(value)


def as_int(value: Any, name: str, minimum: int | None = None) -> int:
    """An element property given as int or string as an int, with a clear error naming the property."""
    try:
        i = int(value, 0) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and i < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {i}")
    return i


def _int(v: Value, key: str, minimum: int | None = None) -> int:
    try:
        i = int(v.text, 0)
    except ValueError:
        raise ConfigError(f"{v.where}: {key} must be an integer, got {v.text!r}") from None
    if minimum is not None and i < minimum:
        raise ConfigError(f"{v.where}: {key} must be >= {minimum}, got {i}")
    return i


@dataclass(slots=True)
class SensorInfo:
    """A ``[sensorN]`` group."""

    id: str = ""
    type: str = ""
    description: str = ""
    location: tuple[float, float, float] = (0.0, 0.0, 0.0)
    coordinate: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(slots=True)
class PlaceInfo:
    """A ``[placeN]`` group; ``sub_field`` holds ``place-sub-field1..3``."""

    id: str = ""
    name: str = ""
    type: str = ""
    location: tuple[float, float, float] = (0.0, 0.0, 0.0)
    coordinate: tuple[float, float, float] = (0.0, 0.0, 0.0)
    sub_field: tuple[str, str, str] = ("", "", "")


@dataclass(slots=True)
class AnalyticsInfo:
    """An ``[analyticsN]`` group."""

    id: str = ""
    description: str = ""
    source: str = ""
    version: str = ""


_GROUP_KEYS = {
    "sensor": {"enable", "id", "type", "description", "location", "coordinate"},
    "place": {"enable", "id", "name", "type", "location", "coordinate",
              "place-sub-field1", "place-sub-field2", "place-sub-field3"},
    "analytics": {"enable", "id", "description", "source", "version"},
}


@dataclass(slots=True)
class MsgConvConfig:
    """The nvmsgconv config: sensors, places and analytics modules keyed by their group number N.

    Example::

        cfg = MsgConvConfig.load("samples/configs/msgconv/msgconv_config.txt")
        cfg.sensors[0].id   # 'HWY_20_AND_LOCUST__EBA__4_11_2018_4_59_59_508_AM_UTC-07_00'
    """

    sensors: dict[int, SensorInfo] = field(default_factory=dict)
    places: dict[int, PlaceInfo] = field(default_factory=dict)
    analytics: dict[int, AnalyticsInfo] = field(default_factory=dict)
    path: str = ""

    @classmethod
    def load(cls, path: str | Path) -> MsgConvConfig:
        p = Path(path)
        groups = _yaml_groups(p) if p.suffix.lower() in (".yml", ".yaml") else parse_keyfile(p)
        cfg = cls(path=str(p))
        for gname, kv in groups.items():
            m = re.fullmatch(r"(sensor|place|analytics)(\d+)", gname)
            if m is None:
                where = next(iter(kv.values())).where if kv else str(p)
                raise ConfigError(f"{where}: unknown group [{gname}] (expected [sensorN], [placeN] or [analyticsN])")
            kind, idx = m.group(1), int(m.group(2))
            for k, v in kv.items():
                if k not in _GROUP_KEYS[kind]:
                    raise ConfigError(f"{v.where}: unknown key {k!r} in [{gname}] "
                                      f"(known: {', '.join(sorted(_GROUP_KEYS[kind]))})")
            if "enable" in kv and not _bool(kv["enable"], "enable"):
                continue
            get = {k: v.text for k, v in kv.items()}
            loc = _floats3(kv["location"], "location") if "location" in kv else (0.0, 0.0, 0.0)
            coord = _floats3(kv["coordinate"], "coordinate") if "coordinate" in kv else (0.0, 0.0, 0.0)
            if kind == "sensor":
                cfg.sensors[idx] = SensorInfo(get.get("id", ""), get.get("type", ""), get.get("description", ""),
                                              loc, coord)
            elif kind == "place":
                sub = tuple(get.get(f"place-sub-field{i}", "") for i in (1, 2, 3))
                cfg.places[idx] = PlaceInfo(get.get("id", ""), get.get("name", ""), get.get("type", ""), loc, coord,
                                            sub)  # type: ignore[arg-type]
            else:
                cfg.analytics[idx] = AnalyticsInfo(get.get("id", ""), get.get("description", ""),
                                                   get.get("source", ""), get.get("version", ""))
        return cfg

    def sensor_index(self, sensor_id: str) -> int | None:
        """Group number N of the sensor whose ``id`` is ``sensor_id`` (for ``sensor-list-file`` lookups)."""
        return next((n for n, s in self.sensors.items() if s.id == sensor_id), None)


# ---------------------------------------------------------------------------------------------------------
# adapter configs

_COMMON_KEYS = {"share-connection", "hostname", "port"}
# vistream additions (delivery spool); DeepStream adapters ignore unknown keys, we reject typos instead
SPOOL_KEYS = {"spool-path", "spool-max-messages", "spool-overflow", "retry-initial-ms", "retry-max-ms",
              "send-batch"}
ADAPTER_KEYS: dict[str, set[str]] = {
    "kafka": {"proto-cfg", "producer-proto-cfg", "consumer-proto-cfg", "consumer-group-id", "partition-key"},
    "mqtt": {"username", "password", "client-id", "enable-tls", "tls-cafile", "tls-capath", "tls-certfile",
             "tls-keyfile", "loop-timeout", "keep-alive", "set-keepalive", "qos"},
    "amqp": {"username", "password", "exchange", "topic", "amqp-framesize", "amqp-heartbeat", "vhost"},
    "redis": {"password", "streamsize", "payloadkey", "consumergroup"},
}


@dataclass(slots=True)
class AdapterConfig:
    """The ``[message-broker]`` group of an adapter config file: ``values`` by key, ``where`` by key."""

    values: dict[str, str] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)
    path: str = ""

    @classmethod
    def load(cls, path: str | Path | None, protocol: str) -> AdapterConfig:
        if path is None or str(path) == "":
            return cls()
        groups = parse_keyfile(path)
        if "message-broker" not in groups:
            raise ConfigError(f"{path}: no [message-broker] group (DeepStream adapter config format)")
        known = ADAPTER_KEYS.get(protocol, set()) | _COMMON_KEYS | SPOOL_KEYS
        kv = groups["message-broker"]
        for k, v in kv.items():
            if protocol in ADAPTER_KEYS and k not in known:
                raise ConfigError(f"{v.where}: unknown key {k!r} for the {protocol} adapter "
                                  f"(known: {', '.join(sorted(known))})")
        return cls({k: v.text for k, v in kv.items()}, {k: v.where for k, v in kv.items()}, str(path))

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def get_int(self, key: str, default: int, minimum: int | None = None) -> int:
        if key not in self.values:
            return default
        return _int(Value(self.values[key], self.where.get(key, key)), key, minimum)

    def get_bool(self, key: str, default: bool) -> bool:
        if key not in self.values:
            return default
        return _bool(Value(self.values[key], self.where.get(key, key)), key)

    def error(self, key: str, msg: str) -> ConfigError:
        return ConfigError(f"{self.where.get(key, self.path or 'config')}: {key}: {msg}")

    def kv_list(self, key: str) -> dict[str, str]:
        """A ``"a=1;b=2"`` value (kafka ``proto-cfg``) as a dict."""
        out = {}
        for item in filter(None, (s.strip() for s in self.values.get(key, "").split(";"))):
            if "=" not in item:
                raise self.error(key, f"expected 'name=value' items separated by ';', got {item!r}")
            k, v = (s.strip() for s in item.split("=", 1))
            out[k] = v
        return out
