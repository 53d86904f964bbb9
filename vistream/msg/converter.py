"""``MsgConverter``: the library behind the ``nvmsgconv`` element."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from vistream.meta.batch import BatchMeta, FrameMeta, MetaType, UserMeta
from vistream.meta.event import EventMsgMeta, event_msgs
from vistream.msg import schema
from vistream.msg.config import ConfigError, MsgConvConfig, as_bool, as_int


class PayloadType(IntEnum):
    """``NvDsPayloadType``; any value >= ``RESERVED`` (256) selects a custom Python payload builder."""

    DEEPSTREAM = 0
    DEEPSTREAM_MINIMAL = 1
    DEEPSTREAM_PROTOBUF = 2
    RESERVED = 0x100
    CUSTOM = 0x101


@dataclass(slots=True)
class Payload:
    """A message ready to send (``NvDsPayload``): ``payload`` bytes plus the ``componentId`` of its maker.

    ``topic`` (optional) overrides the broker's topic for this message; ``key`` is an optional partition
    key; ``source_id`` / ``frame_num`` say which frame it came from.
    """

    payload: bytes
    componentId: int = 0  # noqa: N815 - pyds name
    topic: str | None = None
    key: str | None = None
    source_id: int = -1
    frame_num: int = -1

    @property
    def payloadSize(self) -> int:  # noqa: N802 - pyds name
        return len(self.payload)

    def json(self) -> Any:
        return json.loads(self.payload)


#: a custom payload builder: ``(frame_meta, events, config) -> dict | str | bytes | list of those | None``
PayloadFn = Callable[[FrameMeta, list[EventMsgMeta], "MsgConvConfig | None"], Any]


def load_payload_fn(spec: str) -> PayloadFn:
    """Resolve ``msg2p-lib``: ``"pkg.module"`` / ``"pkg.module:function"`` / ``"path/to/file.py[:function]"``;
    the default function name is ``build_payload`` (DeepStream's ``.so`` names are refused clearly)."""
    mod_part, _, fn_name = spec.partition(":")
    fn_name = fn_name or "build_payload"
    if mod_part.endswith(".so"):
        raise ConfigError(f"nvmsgconv: msg2p-lib={spec!r}: native payload libraries cannot be loaded; give a "
                          "Python module ('pkg.module[:function]' or 'file.py[:function]')")
    try:
        if mod_part.endswith(".py") or os.sep in mod_part:
            path = Path(mod_part)
            if not path.is_file():
                raise ConfigError(f"nvmsgconv: msg2p-lib={spec!r}: file {path} does not exist")
            s = importlib.util.spec_from_file_location(f"vistream_msg2p_{path.stem}", path)
            module = importlib.util.module_from_spec(s)
            s.loader.exec_module(module)  # type: ignore[union-attr]
        else:
            module = importlib.import_module(mod_part)
    except ImportError as e:
        raise ConfigError(f"nvmsgconv: msg2p-lib={spec!r}: cannot import {mod_part!r}: {e}") from e
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        raise ConfigError(f"nvmsgconv: msg2p-lib={spec!r}: {mod_part!r} has no callable {fn_name!r}")
    return fn


class MsgConverter:
    """Turns event metadata (or, with ``msg2p_newapi``, object metadata) into JSON payloads.

    Properties mirror ``nvmsgconv``: ``config`` (msgconv config file), ``payload_type`` (0 full schema,
    1 minimal, >= 256 custom), ``msg2p_lib`` (Python module of a custom builder), ``payload_fn`` (a custom
    builder given directly), ``comp_id``, ``frame_interval`` (new API: one message every N frames per
    source), ``msg2p_newapi``, ``multiple_payloads`` (a custom builder may return several payloads),
    ``debug_payload_dir`` (each payload is also written there as ``<n>.json``).

    :meth:`process` converts one batch in place: every payload is attached to its frame as user meta of
    type ``MetaType.PAYLOAD`` (what :class:`vistream.msg.MsgBroker` sends) and also returned.

    Which metadata it reads:

    * event API (default): each ``EventMsgMeta`` attached to a frame (``MetaType.EVENT_MSG``) whose
      ``componentId`` equals ``comp_id`` (all of them when ``comp_id`` is 0). Full schema: one message
      per event; minimal schema: one message per frame with events.
    * new API (``msg2p_newapi=True``): every ``frame_interval``-th frame of each source; full schema: one
      message per object; minimal: one per frame.

    Example::

        conv = MsgConverter(config="samples/configs/msgconv/msgconv_config.txt", payload_type=0)
        for p in conv.process(batch_meta):
            print(p.json()["object"]["bbox"])
    """

    def __init__(
        self,
        config: str | os.PathLike | MsgConvConfig | None = None,
        payload_type: int = PayloadType.DEEPSTREAM,
        msg2p_lib: str | None = None,
        comp_id: int = 0,
        frame_interval: int = 30,
        msg2p_newapi: bool = False,
        multiple_payloads: bool = False,
        debug_payload_dir: str | os.PathLike | None = None,
        payload_fn: PayloadFn | None = None,
    ) -> None:
        if isinstance(config, MsgConvConfig) or not config:
            self.config = config or None
        else:
            self.config = MsgConvConfig.load(config)
        payload_type = as_int(payload_type, "nvmsgconv: payload-type")
        if payload_type == PayloadType.DEEPSTREAM_PROTOBUF:
            raise ConfigError("nvmsgconv: payload-type=2 (protobuf) is not supported; use 0 (full JSON), "
                              "1 (minimal JSON) or >= 256 with a Python payload builder")
        if payload_type not in (0, 1) and payload_type < PayloadType.RESERVED:
            raise ConfigError(f"nvmsgconv: payload-type={payload_type} is not valid (0, 1, or >= 256 custom)")
        self.payload_type = payload_type
        self.payload_fn: PayloadFn | None = payload_fn
        if msg2p_lib:
            self.payload_fn = load_payload_fn(str(msg2p_lib))
        if self.payload_type >= PayloadType.RESERVED and self.payload_fn is None:
            raise ConfigError(f"nvmsgconv: payload-type={payload_type} (custom) needs msg2p-lib "
                              "(a Python module with build_payload) or payload_fn")
        self.comp_id = as_int(comp_id, "nvmsgconv: comp-id", minimum=0)
        self.frame_interval = as_int(frame_interval, "nvmsgconv: frame-interval", minimum=1)
        self.msg2p_newapi = as_bool(msg2p_newapi, "nvmsgconv: msg2p-newapi")
        self.multiple_payloads = as_bool(multiple_payloads, "nvmsgconv: multiple-payloads")
        self.debug_payload_dir = Path(debug_payload_dir) if debug_payload_dir else None
        if self.debug_payload_dir is not None:
            self.debug_payload_dir.mkdir(parents=True, exist_ok=True)
        self.count = 0  # payloads produced so far
        self._last_sent: dict[int, int] = {}  # source_id -> frame_num of the last new-API message

    # ------------------------------------------------------------------------------------------------
    def process(self, batch_meta: BatchMeta) -> list[Payload]:
        """Convert the batch's metadata into payloads, attach them to their frames, and return them."""
        out: list[Payload] = []
        for frame in batch_meta.frame_meta_list:
            payloads = self.process_frame(frame)
            for p in payloads:
                um = UserMeta(user_meta_data=p)
                um.base_meta.meta_type = MetaType.PAYLOAD
                frame.add_user_meta(um)
            out.extend(payloads)
        return out

    def process_frame(self, frame: FrameMeta) -> list[Payload]:
        """The payloads of one frame (not attached)."""
        if self.msg2p_newapi:
            if not self._due(frame):
                return []
            events: list[EventMsgMeta] = []
        else:
            events = [e for e in event_msgs(frame) if not self.comp_id or e.componentId == self.comp_id]
            if not events:
                return []
        return [self._payload(frame, body) for body in self._bodies(frame, events)]

    def _due(self, frame: FrameMeta) -> bool:
        last = self._last_sent.get(frame.source_id)
        # a frame_num that goes backwards means the source restarted: send at once
        if last is None or frame.frame_num - last >= self.frame_interval or frame.frame_num < last:
            self._last_sent[frame.source_id] = frame.frame_num
            return True
        return False

    def _bodies(self, frame: FrameMeta, events: list[EventMsgMeta]) -> list[Any]:
        cfg = self.config
        if self.payload_type >= PayloadType.RESERVED:
            result = self.payload_fn(frame, events, cfg)  # type: ignore[misc]
            if result is None:
                return []
            if isinstance(result, (list, tuple)):
                if len(result) > 1 and not self.multiple_payloads:
                    raise ValueError(f"nvmsgconv: the custom payload builder returned {len(result)} payloads; "
                                     "set multiple-payloads=true to allow that")
                return list(result)
            return [result]
        if self.msg2p_newapi:
            if self.payload_type == PayloadType.DEEPSTREAM:
                return [schema.full_from_object(frame, o, cfg) for o in frame.obj_meta_list]
            return [schema.minimal_from_frame(frame, cfg)]
        if self.payload_type == PayloadType.DEEPSTREAM:
            return [schema.full_from_event(e, cfg) for e in events]
        return [schema.minimal_from_events(events, cfg)]

    def _payload(self, frame: FrameMeta, body: Any) -> Payload:
        if isinstance(body, Payload):
            p = body
        else:
            p = Payload(schema.dumps(body), self.comp_id)
        p.componentId = p.componentId or self.comp_id
        p.source_id, p.frame_num = frame.source_id, frame.frame_num
        if self.debug_payload_dir is not None:
            (self.debug_payload_dir / f"{self.count:06d}.json").write_bytes(p.payload)
        self.count += 1
        return p


def payloads_of(batch_meta: BatchMeta, comp_id: int = 0) -> list[Payload]:
    """The payloads attached to a batch's frames (``MetaType.PAYLOAD``), optionally only from ``comp_id``."""
    out = []
    for frame in batch_meta.frame_meta_list:
        for um in frame.user_meta_of_type(MetaType.PAYLOAD):
            p = um.user_meta_data
            if isinstance(p, Payload) and (not comp_id or p.componentId == comp_id):
                out.append(p)
    return out


__all__ = ["MsgConverter", "Payload", "PayloadFn", "PayloadType", "load_payload_fn", "payloads_of"]
