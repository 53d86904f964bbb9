"""nvdsanalytics: ROI filtering, overcrowding, line crossing and direction detection on tracked objects."""

from __future__ import annotations

from vistream.core.buffer import Buffer, Event, EventType, FlowReturn
from vistream.core.element import Element, register
from vistream.core.errors import ElementError
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property


@register
class NvDsAnalytics(Element):
    """Applies the rules of a DeepStream analytics config (``config-file``) per source and attaches
    frame- and object-level analytics user meta (and drawings when ``osd-mode`` asks)."""

    FACTORY = "nvdsanalytics"
    KLASS = "Filter/Analytics"
    DESCRIPTION = "ROI filtering, overcrowding, line crossing and direction detection"
    PAD_TEMPLATES = (
        PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, "video/x-raw"),
        PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "video/x-raw"),
    )
    PROPERTIES = (
        Property.string("config-file", None, "Configuration file of nvdsanalytics"),
        Property.uint("unique-id", 0, "Unique ID for the element (written into the analytics meta)"),
        Property.uint("gpu-id", 0, "Set GPU Device ID (accepted)"),
    )

    def start(self) -> None:
        from vistream.analytics import AnalyticsCore

        path = self._props["config-file"]
        if not path:
            raise ElementError('property "config-file" is not set', self.name)
        try:
            self.core = AnalyticsCore(path, unique_id=self._props["unique-id"])
        except ValueError as e:  # config errors name file:line
            raise ElementError(str(e), self.name) from None
        except OSError as e:
            raise ElementError(f"cannot read {path}: {e}", self.name) from None

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        if buffer.batch_meta is None:
            raise ElementError("nvdsanalytics needs batched buffers: put nvstreammux before it", self.name)
        self.core.process(buffer.batch_meta)
        return self.push(buffer)

    def handle_event(self, pad: Pad, event: Event) -> bool:
        if event.type is EventType.STREAM_EOS and hasattr(self, "core"):
            self.core.reset_source(event.data["source_id"])
        return super().handle_event(pad, event)
