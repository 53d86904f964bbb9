"""Protocol adapters behind one :class:`Adapter` interface, and the registry that ``proto-lib`` resolves.

Built in: ``kafka`` (confluent-kafka), ``mqtt`` (paho-mqtt), ``amqp`` (pika), ``redis`` (redis-py streams).
DeepStream's library names map onto them (``libnvds_kafka_proto.so`` -> ``kafka``, ...), with or without a
directory. A custom adapter is any class with the :class:`Adapter` methods, registered with
:func:`register_adapter`, through the ``vistream.msg_adapters`` entry-point group, or named directly as
``proto-lib="package.module:ClassName"``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

from vistream.msg.config import AdapterConfig, ConfigError
from vistream.msg.spool import SpoolEntry


class AdapterError(RuntimeError):
    """A failed connect / publish; ``auth`` is True when the broker refused the credentials."""

    def __init__(self, message: str, auth: bool = False) -> None:
        super().__init__(message)
        self.auth = auth


@dataclass(slots=True)
class ConnInfo:
    """A parsed ``conn-str``: ``host;port[;topic]``."""

    host: str
    port: int
    topic: str | None = None

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


DEFAULT_PORTS = {"kafka": 9092, "mqtt": 1883, "amqp": 5672, "redis": 6379}


def parse_conn_str(conn_str: str, protocol: str = "") -> ConnInfo:
    """Parse DeepStream's ``conn-str`` (``"host;port"`` or ``"host;port;topic"``; ``host:port`` accepted)."""
    if not conn_str or not conn_str.strip():
        if protocol in DEFAULT_PORTS:
            return ConnInfo("127.0.0.1", DEFAULT_PORTS[protocol])
        raise ConfigError("nvmsgbroker: conn-str is empty (expected 'host;port[;topic]')")
    parts = [p.strip() for p in conn_str.strip().split(";")]
    if len(parts) == 1 and parts[0].count(":") == 1:
        parts = parts[0].split(":")
    if len(parts) not in (2, 3) or not parts[0]:
        raise ConfigError(f"nvmsgbroker: conn-str={conn_str!r}: expected 'host;port' or 'host;port;topic'")
    try:
        port = int(parts[1])
    except ValueError:
        raise ConfigError(f"nvmsgbroker: conn-str={conn_str!r}: port {parts[1]!r} is not a number") from None
    if not 0 < port < 65536:
        raise ConfigError(f"nvmsgbroker: conn-str={conn_str!r}: port {port} is out of range 1..65535")
    return ConnInfo(parts[0], port, parts[2] if len(parts) == 3 and parts[2] else None)


MessageCallback = Callable[[str, bytes], None]


@runtime_checkable
class Adapter(Protocol):
    """What :class:`vistream.msg.MsgBroker` and :class:`vistream.msg.MsgConsumer` need from a protocol.

    ``__init__(conn: ConnInfo, config: AdapterConfig)`` must not do network I/O.
    ``connect(timeout)`` raises :class:`AdapterError` (``auth=True`` for refused credentials).
    ``publish(entries, timeout)`` returns the ids of the entries the broker acknowledged within ``timeout``;
    it raises :class:`AdapterError` when the connection is lost (unacknowledged entries are sent again).
    ``consume(topics, callback, stop, on_ready=None)`` delivers ``(topic, payload)`` until ``stop`` is set,
    calling ``on_ready()`` once subscribed; raises :class:`AdapterError` when the connection is lost.
    """

    protocol: str

    def connect(self, timeout: float) -> None: ...

    def publish(self, entries: list[SpoolEntry], timeout: float) -> list[int]: ...

    def consume(self, topics: list[str], callback: MessageCallback, stop: threading.Event,
                on_ready: Callable[[], None] | None = None) -> None: ...

    def close(self) -> None: ...


_REGISTRY: dict[str, type] = {}
_BUILTIN = {"kafka": "vistream.msg.adapters.kafka:KafkaAdapter", "mqtt": "vistream.msg.adapters.mqtt:MqttAdapter",
            "amqp": "vistream.msg.adapters.amqp:AmqpAdapter", "redis": "vistream.msg.adapters.redis:RedisAdapter"}
_DS_LIBS = {"libnvds_kafka_proto.so": "kafka", "libnvds_mqtt_proto.so": "mqtt", "libnvds_amqp_proto.so": "amqp",
            "libnvds_redis_proto.so": "redis"}
_AZURE = ("libnvds_azure_proto.so", "libnvds_azure_edge_proto.so", "azure", "azure-edge")
ENTRY_POINT_GROUP = "vistream.msg_adapters"


def register_adapter(name: str, cls: type) -> None:
    """Make ``proto-lib=name`` select ``cls`` (a class implementing :class:`Adapter`)."""
    missing = [m for m in ("connect", "publish", "close") if not callable(getattr(cls, m, None))]
    if missing:
        raise TypeError(f"register_adapter({name!r}): {cls!r} lacks {', '.join(missing)}")
    _REGISTRY[name] = cls


def _load(spec: str, proto_lib: str) -> type:
    mod_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(mod_name)
    except ImportError as e:
        raise ConfigError(f"nvmsgbroker: proto-lib={proto_lib!r}: cannot import {mod_name!r}: {e}") from e
    cls = getattr(module, attr or "Adapter", None)
    if cls is None:
        raise ConfigError(f"nvmsgbroker: proto-lib={proto_lib!r}: {mod_name!r} has no {attr or 'Adapter'!r}")
    return cls


def check_requirements(cls: type, proto_lib: str) -> None:
    """Fail early, naming the pip package, when an adapter's client library is not installed."""
    req = getattr(cls, "requires", None)
    if req:
        module, package = req
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            raise ConfigError(f"nvmsgbroker: proto-lib={proto_lib!r} needs the {package!r} package "
                              "(pip install 'vistream[brokers]')")


def protocol_name(proto_lib: str) -> str:
    """The adapter name a ``proto-lib`` value selects (``libnvds_mqtt_proto.so`` -> ``mqtt``)."""
    base = os.path.basename(proto_lib.strip())
    if base in _AZURE or "azure" in base:
        raise ConfigError(f"nvmsgbroker: proto-lib={proto_lib!r}: the Azure IoT adapters are not available in "
                          "vistream; use kafka, mqtt (Azure IoT Hub speaks MQTT), amqp or redis")
    return _DS_LIBS.get(base, proto_lib.strip())


def resolve_adapter(proto_lib: str) -> type:
    """The adapter class for a ``proto-lib`` value: registry, built-ins, entry points, or ``module:Class``."""
    if not proto_lib or not proto_lib.strip():
        raise ConfigError("nvmsgbroker: proto-lib is empty (e.g. 'kafka' or 'libnvds_kafka_proto.so')")
    name = protocol_name(proto_lib)
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name in _BUILTIN:
        cls = _load(_BUILTIN[name], proto_lib)
        check_requirements(cls, proto_lib)
        return cls
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return ep.load()
    if ":" in name or "." in name and not name.endswith(".so"):
        return _load(name, proto_lib)
    known = sorted(set(_REGISTRY) | set(_BUILTIN) | set(_DS_LIBS))
    raise ConfigError(f"nvmsgbroker: proto-lib={proto_lib!r} is not a known adapter (known: {', '.join(known)}; "
                      "or 'package.module:Class')")


__all__ = ["Adapter", "AdapterConfig", "AdapterError", "ConnInfo", "MessageCallback", "parse_conn_str",
           "protocol_name", "register_adapter", "resolve_adapter"]
