"""``MsgConsumer``: receives commands from a broker (deepstream-app's ``[message-consumerN]``) for the app."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vistream.msg.adapters import AdapterError, parse_conn_str, protocol_name, resolve_adapter
from vistream.msg.config import AdapterConfig, ConfigError, MsgConvConfig, parse_keyfile

log = logging.getLogger("vistream.msg.consumer")

#: commands deepstream-test5 understands; others are passed on too (``known`` is False)
KNOWN_COMMANDS = ("start-recording", "stop-recording", "add-source", "remove-source")


@dataclass(slots=True)
class Command:
    """One received command message.

    ``command`` e.g. ``"start-recording"``; ``sensor_id`` is ``sensor.id`` of the message;
    ``source_id`` is the index of that sensor (its ``[sensorN]`` group in ``sensor-list-file``, or the id
    itself when it is a number), or None; ``start`` / ``end`` are the RFC 3339 times of a recording
    command; ``uri`` the source URI of add-source; ``body`` the whole decoded JSON; ``topic`` where it
    came from.
    """

    command: str
    topic: str
    body: dict[str, Any] = field(default_factory=dict)
    sensor_id: str | None = None
    source_id: int | None = None
    start: str | None = None
    end: str | None = None
    uri: str | None = None

    @property
    def known(self) -> bool:
        return self.command in KNOWN_COMMANDS


def parse_command(topic: str, payload: bytes, sensors: MsgConvConfig | None = None) -> Command:
    """Decode a command message (deepstream-test5's smart-record format); ValueError if it is not one."""
    try:
        body = json.loads(payload)
    except ValueError as e:
        raise ValueError(f"message on {topic!r} is not JSON: {e}") from None
    if not isinstance(body, dict) or not isinstance(body.get("command"), str):
        raise ValueError(f"message on {topic!r} has no string 'command' field")
    sensor = body.get("sensor")
    sensor_id = str(sensor.get("id")) if isinstance(sensor, dict) and "id" in sensor else None
    source_id = None
    if sensor_id is not None:
        if sensors is not None:
            source_id = sensors.sensor_index(sensor_id)
        if source_id is None and sensor_id.isdigit():
            source_id = int(sensor_id)
    src = body.get("source")
    uri = src.get("uri") if isinstance(src, dict) else body.get("uri")
    return Command(body["command"], topic, body, sensor_id, source_id, body.get("start"), body.get("end"), uri)


class MsgConsumer:
    """Subscribes to ``subscribe_topic_list`` and hands every command to ``callback`` (on its own thread).

    ``proto_lib`` / ``conn_str`` / ``config`` as for :class:`vistream.msg.MsgBroker`; ``sensor_list_file``
    is a msgconv config whose ``[sensorN]`` ids map ``sensor.id`` to source index N. Messages that are not
    commands go to ``on_invalid`` (default: logged) and are counted in ``invalid``. The connection is
    re-established with back-off when it drops.

    Example::

        def on_command(cmd):
            if cmd.command == "start-recording": recorder.start(cmd.source_id, cmd.start, cmd.end)

        consumer = MsgConsumer("kafka", "localhost;9092", subscribe_topic_list="ds-commands", callback=on_command)
        ...
        consumer.close()
    """

    def __init__(
        self,
        proto_lib: str,
        conn_str: str,
        subscribe_topic_list: str | list[str],
        callback: Callable[[Command], None],
        config: str | os.PathLike | None = None,
        sensor_list_file: str | os.PathLike | None = None,
        on_invalid: Callable[[str, bytes, Exception], None] | None = None,
        retry_max_ms: int = 5000,
    ) -> None:
        self.protocol = protocol_name(proto_lib)
        topics = subscribe_topic_list.split(";") if isinstance(subscribe_topic_list, str) else subscribe_topic_list
        self.topics = [t.strip() for t in topics if t and t.strip()]
        if not self.topics:
            raise ConfigError("message-consumer: subscribe-topic-list is empty")
        self.adapter = resolve_adapter(proto_lib)(parse_conn_str(conn_str, self.protocol),
                                                  AdapterConfig.load(config, self.protocol))
        if not callable(getattr(self.adapter, "consume", None)):
            raise ConfigError(f"message-consumer: the {self.protocol} adapter cannot consume")
        self.sensors = MsgConvConfig.load(sensor_list_file) if sensor_list_file else None
        self.callback, self.on_invalid = callback, on_invalid
        self.received = 0
        self.invalid = 0
        self.connected = threading.Event()  # set once subscribed (wait on it before expecting commands)
        self.last_error = ""
        self._retry_max = retry_max_ms / 1000
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"msgconsumer-{self.protocol}", daemon=True)
        self._thread.start()

    def _deliver(self, topic: str, payload: bytes) -> None:
        try:
            cmd = parse_command(topic, payload, self.sensors)
        except ValueError as e:
            self.invalid += 1
            if self.on_invalid is not None:
                self.on_invalid(topic, payload, e)
            else:
                log.warning("message-consumer: ignored: %s", e)
            return
        self.received += 1
        try:
            self.callback(cmd)
        except Exception:  # noqa: BLE001 - the app's bug must not stop the subscription
            log.exception("message-consumer: callback failed on %s", cmd.command)

    def _run(self) -> None:
        delay = 0.2
        while not self._stop.is_set():
            try:
                self.adapter.consume(self.topics, self._deliver, self._stop, self.connected.set)
                delay = 0.2
            except AdapterError as e:
                self.connected.clear()
                self.last_error = str(e)
                log.warning("message-consumer: %s", e)
                self._stop.wait(delay)
                delay = min(delay * 2, self._retry_max)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)


@dataclass(slots=True)
class ConsumerSpec:
    """One enabled ``[message-consumerN]`` group of a deepstream-app config."""

    proto_lib: str
    conn_str: str
    subscribe_topic_list: list[str]
    config: str | None = None
    sensor_list_file: str | None = None

    def start(self, callback: Callable[[Command], None]) -> MsgConsumer:
        return MsgConsumer(self.proto_lib, self.conn_str, self.subscribe_topic_list, callback, self.config,
                           self.sensor_list_file)


def consumer_specs(app_config: str | os.PathLike) -> list[ConsumerSpec]:
    """The enabled ``[message-consumerN]`` groups of a deepstream-app key-file config (relative paths
    resolved against the config's directory)."""
    base = Path(app_config).parent
    out = []
    for name, kv in parse_keyfile(app_config).items():
        if not name.startswith("message-consumer"):
            continue
        if kv.get("enable") is not None and kv["enable"].text.strip() in ("0", "false"):
            continue
        for k in ("proto-lib", "conn-str", "subscribe-topic-list"):
            if k not in kv:
                where = next(iter(kv.values())).where if kv else str(app_config)
                raise ConfigError(f"{where}: [{name}] needs {k}")

        def path(key, kv=kv):
            v = kv.get(key)
            return str(base / v.text) if v is not None and v.text else None

        out.append(ConsumerSpec(kv["proto-lib"].text, kv["conn-str"].text,
                                [t for t in kv["subscribe-topic-list"].text.split(";") if t],
                                path("config-file"), path("sensor-list-file")))
    return out


__all__ = ["Command", "ConsumerSpec", "MsgConsumer", "consumer_specs", "parse_command"]
