"""The engine: buffers, caps, pads, elements, bus, pipeline and the launch-string parser."""

from vistream.core.buffer import SECOND, Buffer, Event, EventType, FlowReturn
from vistream.core.bus import Bus, Message, MessageType
from vistream.core.caps import Caps
from vistream.core.element import (
    SINK_ANY,
    SRC_ANY,
    Element,
    SourceElement,
    State,
    StateChangeReturn,
    element_classes,
    factory_names,
    find_factory,
    make_element,
    register,
)
from vistream.core.errors import (
    ConfigError,
    ElementError,
    LaunchError,
    LinkError,
    PropertyError,
    VistreamError,
)
from vistream.core.launch import parse_launch
from vistream.core.pad import (
    Pad,
    PadDirection,
    PadPresence,
    PadProbeInfo,
    PadProbeReturn,
    PadProbeType,
    PadTemplate,
)
from vistream.core.pipeline import Pipeline, PipelineError
from vistream.core.props import Property

__all__ = [
    "SECOND", "SINK_ANY", "SRC_ANY", "Buffer", "Bus", "Caps", "ConfigError", "Element", "ElementError", "Event",
    "EventType", "FlowReturn", "LaunchError", "LinkError", "Message", "MessageType", "Pad", "PadDirection",
    "PadPresence", "PadProbeInfo", "PadProbeReturn", "PadProbeType", "PadTemplate", "Pipeline", "PipelineError",
    "Property", "PropertyError", "SourceElement", "State", "StateChangeReturn", "VistreamError", "element_classes",
    "factory_names", "find_factory", "make_element", "parse_launch", "register",
]
