"""nvstreamdemux: splits a batch back into one stream per source (pads ``src_<source_id>``)."""

from __future__ import annotations

from vistream.core.buffer import Buffer, Event, EventType, FlowReturn
from vistream.core.element import Element, register
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.meta import BatchMeta


@register
class NvStreamDemux(Element):
    """Pushes each frame of a batch on ``src_<source_id>`` (request pads) with its own one-frame BatchMeta.

    Frames of sources without a linked pad are dropped. A source's EOS (``stream-eos``) ends its pad.
    """

    FACTORY = "nvstreamdemux"
    KLASS = "Generic"
    DESCRIPTION = "Stream demultiplexer: split a batch into per-source streams"
    PAD_TEMPLATES = (
        PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, "video/x-raw"),
        PadTemplate("src_%u", PadDirection.SRC, PadPresence.REQUEST, "video/x-raw"),
    )
    PROPERTIES = (Property.bool("per-stream-eos", True, "Send EOS on a source's pad when that source ends"),)

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        bm = buffer.batch_meta
        if bm is None:
            src = self.pads.get("src_0")
            return self.push(buffer, src) if src is not None else FlowReturn.OK
        result = FlowReturn.OK
        for fm in bm.frame_meta_list:
            src = self.pads.get(f"src_{fm.source_id}")
            if src is None or src.peer is None:
                continue
            frame = buffer.data[fm.batch_id]
            meta = BatchMeta(max_frames_in_batch=1, frame_meta_list=[fm],
                             batch_user_meta_list=list(bm.batch_user_meta_list))
            out = Buffer(frame[None], pts=fm.buf_pts, duration=buffer.duration,
                         caps=buffer.caps.copy(**{"batch-size": 1}) if buffer.caps is not None else None,
                         batch_meta=meta, source_id=fm.source_id, frame_num=fm.frame_num)
            fm.batch_id = 0
            ret = self.push(out, src)
            if ret == FlowReturn.OK:
                continue
            if ret not in (FlowReturn.NOT_LINKED, FlowReturn.EOS):
                result = ret
        return result

    def handle_event(self, pad: Pad, event: Event) -> bool:
        if event.type is EventType.STREAM_EOS and self._props["per-stream-eos"]:
            src = self.pads.get(f"src_{event.data['source_id']}")
            if src is not None and src.peer is not None:
                src.push_event(Event.eos())
            return True
        if event.type is EventType.EOS:
            for src in self.src_pads:
                if src.peer is not None and not src.peer.eos:
                    src.push_event(Event.eos())
            return True
        return self.push_event(event)
