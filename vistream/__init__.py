"""vistream: real-time video analytics pipelines with DeepStream's concepts, on any machine.

>>> import vistream
>>> pipeline = vistream.parse_launch("videotestsrc num-buffers=30 ! nvvideoconvert ! fakesink")  # doctest: +SKIP
>>> pipeline.run()                                                                              # doctest: +SKIP
"""

from vistream.core import (
    SECOND,
    Buffer,
    Bus,
    Caps,
    Element,
    ElementError,
    Event,
    EventType,
    FlowReturn,
    LaunchError,
    LinkError,
    Message,
    MessageType,
    Pad,
    PadDirection,
    PadPresence,
    PadProbeInfo,
    PadProbeReturn,
    PadProbeType,
    PadTemplate,
    Pipeline,
    PipelineError,
    Property,
    PropertyError,
    SourceElement,
    State,
    StateChangeReturn,
    VistreamError,
    make_element,
    parse_launch,
    register,
)

__version__ = "0.1.0"

__all__ = [
    "SECOND", "Buffer", "Bus", "Caps", "Element", "ElementError", "Event", "EventType", "FlowReturn", "LaunchError",
    "LinkError", "Message", "MessageType", "Pad", "PadDirection", "PadPresence", "PadProbeInfo", "PadProbeReturn",
    "PadProbeType", "PadTemplate", "Pipeline", "PipelineError", "Property", "PropertyError", "SourceElement", "State",
    "StateChangeReturn", "VistreamError", "__version__", "make_element", "parse_launch", "register",
]
