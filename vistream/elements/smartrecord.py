"""Smart record on sources: ``nvurisrcbin`` with DeepStream's ``smart-rec-*`` properties and ``start-sr`` /
``stop-sr`` / ``sr-done`` signals, and ``smartrecord``, a pass-through element for encoded streams.

Importing this module makes ``nvurisrcbin`` the smart-record-capable class below (a subclass of the plain one:
with ``smart-record=0``, the default, it behaves exactly the same).

Example::

    src = make_element("nvurisrcbin", uri="rtsp://cam/stream", smart_record=2, smart_rec_dir_path="rec",
                       smart_rec_cache=10, smart_rec_default_duration=5)
    src.connect("sr-done", lambda el, info, user_ctx: print(info.filename, user_ctx))
    session = src.emit("start-sr", 5, 10, None)     # 5 s before now + 10 s after
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from vistream.core.buffer import Buffer, FlowReturn
from vistream.core.element import Element, register
from vistream.core.errors import ElementError, VistreamError
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.media import ENCODED_CAPS
from vistream.elements.urisrc import NvUriSrcBin as _PlainNvUriSrcBin
from vistream.live.smartrecord import RecordingInfo, SmartRecorder

SMART_RECORD_PROPERTIES = (
    Property.enum("smart-record", 0, "Enable smart record",
                  [(0, "disable", "Disable"), (1, "cloud-only", "Trigger by cloud (message) events only"),
                   (2, "multi", "Trigger by cloud and local (API, probe) events")]),
    Property.string("smart-rec-dir-path", ".", "Path of directory to save the recorded file"),
    Property.string("smart-rec-file-prefix", "Smart_Record", "Prefix of file name for recorded video"),
    Property.uint("smart-rec-cache", 20, "Size of video cache in seconds", 1, 3600),
    Property.uint("smart-rec-default-duration", 20, "Duration of recording in seconds when none is given", 1),
    Property.enum("smart-rec-container", 0, "Container format of recorded video",
                  [(0, "mp4", "MP4"), (1, "mkv", "MKV")]),
    Property.enum("smart-rec-mode", 1, "Smart record mode (video is recorded; audio is not supported)",
                  [(0, "audio-video", "Audio and video"), (1, "video", "Video only"), (2, "audio", "Audio only")]),
)
SR_SIGNALS = ("start-sr", "stop-sr", "sr-done")


class _SmartRecordMixin:
    """Owns the :class:`SmartRecorder`; ``start-sr``/``stop-sr`` are action signals (``emit`` runs them)."""

    recorder: SmartRecorder | None = None
    _sr_ctx: dict[int, Any]

    def _make_recorder(self) -> SmartRecorder | None:
        self._sr_ctx = {}
        if not self._props["smart-record"]:
            return None
        if self._props["smart-rec-mode"] == 2:
            raise ElementError("smart-rec-mode=audio: audio is not recorded; use smart-rec-mode=video", self.name)
        return SmartRecorder(self._props["smart-rec-dir-path"], self._props["smart-rec-file-prefix"],
                             self._props["smart-rec-cache"], self._props["smart-rec-default-duration"],
                             self._props["smart-rec-container"], self._source_id(), self._sr_done)

    def _source_id(self) -> int:
        return 0

    def _sr_done(self, info: RecordingInfo) -> None:
        # DeepStream's signature: (element, recording_info, user_ctx given to start-sr, *user_data)
        user_ctx = self._sr_ctx.pop(info.session_id, None)
        for _, cb, user_data in list(self._signals.get("sr-done", ())):
            try:
                cb(self, info, user_ctx, *user_data)
            except Exception as e:  # an application callback must not end the stream
                self.post_warning(f"sr-done callback failed: {type(e).__name__}: {e}")
        self.post_element_message("sr-done", **info.as_dict())

    def start_sr(self, start_time: float = 0, duration: float = 0, user_data: Any = None) -> int:
        """Start recording ``start_time`` s before now for ``duration`` s (0: the default); returns the session id."""
        if self.recorder is None:
            raise ElementError("smart record is disabled: set smart-record=1 or 2 before starting", self.name)
        try:
            sid = self.recorder.start(start_time, duration or None)
        except VistreamError as e:
            raise ElementError(str(e), self.name) from None
        self._sr_ctx[sid] = user_data
        self.post_element_message("sr-started", session_id=sid, source_id=self.recorder.source_id,
                                  start_time=start_time, duration=duration)
        return sid

    def stop_sr(self, session_id: int | None = None) -> list[RecordingInfo]:
        if self.recorder is None:
            raise ElementError("smart record is disabled", self.name)
        try:
            return self.recorder.stop(session_id)
        except VistreamError as e:
            raise ElementError(str(e), self.name) from None

    def emit(self, signal: str, *args: Any) -> Any:
        if signal == "start-sr":
            return self.start_sr(*args[:3])
        if signal == "stop-sr":
            return self.stop_sr(*args[:1])
        return super().emit(signal, *args)  # type: ignore[misc]


@register
class NvUriSrcBin(_SmartRecordMixin, _PlainNvUriSrcBin):
    """``nvurisrcbin`` with smart record: the demuxed packets of the source (files, RTSP, HTTP) also feed a
    rolling cache; ``start-sr`` writes ``cache`` seconds before and ``duration`` seconds after into a file in
    ``smart-rec-dir-path``, by stream copy. ``sr-done`` (and a bus ELEMENT message ``sr-done``) report it."""

    PROPERTIES = SMART_RECORD_PROPERTIES
    SIGNALS = (*_PlainNvUriSrcBin.SIGNALS, *SR_SIGNALS)

    def _source_id(self) -> int:
        return self._props["source-id"]

    def start(self) -> None:
        super().start()
        self.recorder = self._make_recorder()

    def _decoded(self, dec, packets) -> Iterator[list]:
        rec = self.recorder
        if rec is None:
            yield from super()._decoded(dec, packets)
            return
        for pkt in packets:
            rec.push_buffer(pkt)
            yield dec.decode(pkt.data)
        yield dec.flush()

    def stop(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
        super().stop()


@register
class SmartRecord(_SmartRecordMixin, Element):
    """Smart record on an encoded stream: ``... ! h264parse ! smartrecord smart-record=2 ! nvv4l2decoder``.

    Packets pass through unchanged; ``start-sr`` / ``stop-sr`` / ``sr-done`` as on ``nvurisrcbin``."""

    FACTORY = "smartrecord"
    ALIASES = ("nvsmartrecord",)
    KLASS = "Generic"
    DESCRIPTION = "Cache encoded packets and record them to files on demand (DeepStream smart record)"
    PAD_TEMPLATES = (PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, ENCODED_CAPS),
                     PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, ENCODED_CAPS))
    PROPERTIES = (*SMART_RECORD_PROPERTIES, Property.uint("source-id", 0, "Source id written into file names"))
    SIGNALS = SR_SIGNALS
    TRANSPARENT = True

    def _source_id(self) -> int:
        return self._props["source-id"]

    def start(self) -> None:
        self.recorder = self._make_recorder()

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        if self.recorder is not None:
            self.recorder.push_buffer(buffer)
        return self.push(buffer)

    def on_eos(self, pad: Pad) -> None:
        if self.recorder is not None:
            self.recorder.close()

    def stop(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
