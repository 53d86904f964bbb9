"""nvtracker: multi-object tracking with DeepStream tracker configs (IOU, SORT, ByteTrack, re-ID)."""

from __future__ import annotations

from vistream.core.buffer import Buffer, Event, EventType, FlowReturn
from vistream.core.element import Element, register
from vistream.core.errors import ElementError
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.video import host_rgb_frames


@register
class NvTracker(Element):
    """Gives objects ids that persist across frames, per source, from a DeepStream tracker YAML
    (``ll-config-file``); DeepStream's ``ll-lib-file`` names are accepted and mapped."""

    FACTORY = "nvtracker"
    KLASS = "NvTracker Plugin"
    DESCRIPTION = "Tracks objects across frames (ids unique over all sources)"
    PAD_TEMPLATES = (
        PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, "video/x-raw"),
        PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "video/x-raw"),
    )
    PROPERTIES = (
        Property.uint("tracker-width", 640, "Frame width at which the tracker is to operate", 32, 16384),
        Property.uint("tracker-height", 384, "Frame height at which the tracker is to operate", 32, 16384),
        Property.string("ll-lib-file", "libnvds_nvmultiobjecttracker.so", "Low-level library (name mapped)"),
        Property.string("ll-config-file", None, "Low-level tracker config file (DeepStream YAML)"),
        Property.uint("gpu-id", 0, "Set GPU Device ID"),
        Property.bool("display-tracking-id", True, "Display tracking id in object text"),
        Property.enum("compute-hw", 0, "Compute engine for the re-ID network",
                      [(0, "default", "Default"), (1, "gpu", "GPU"), (2, "vic", "VIC")]),
        Property.uint("tracking-surface-type", 0, "Set the surface type to track (0 = all)"),
        Property.uint("user-meta-pool-size", 32, "Tracker user meta buffer pool size", 1, 1024),
        Property.bool("enable-batch-process", True, "Enable batch processing across sources (accepted)"),
        Property.bool("enable-past-frame", True, "Enable reporting past-frame data (accepted)"),
    )
    THREADED = True
    QUEUE_SIZE = 2

    def start(self) -> None:
        from vistream.track import TrackerConfigError
        from vistream.track.core import TRACKER_PROPERTIES, TrackerCore

        props = {k: self._props[k] for k in TRACKER_PROPERTIES if k in self._props and self._props[k] is not None}
        try:
            self.core = TrackerCore.from_properties(props)
        except TrackerConfigError as e:
            raise ElementError(str(e), self.name) from None
        except OSError as e:
            raise ElementError(f"cannot read tracker config: {e}", self.name) from None

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        if buffer.batch_meta is None:
            raise ElementError("nvtracker needs batched buffers: put nvstreammux before it", self.name)
        frames = host_rgb_frames(buffer) if self.core.needs_frames else None  # the re-ID model runs on the host
        self.core.process(buffer.batch_meta, frames)
        return self.push(buffer)

    def handle_event(self, pad: Pad, event: Event) -> bool:
        if event.type is EventType.STREAM_EOS and hasattr(self, "core"):
            self.core.reset_source(event.data["source_id"])
        return super().handle_event(pad, event)
