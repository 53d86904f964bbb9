"""filesrc and filesink."""

from __future__ import annotations

import os
from collections.abc import Iterator

from vistream.core.buffer import Buffer, FlowReturn
from vistream.core.caps import Caps
from vistream.core.element import SINK_ANY, SourceElement, register
from vistream.core.errors import ElementError
from vistream.core.pad import PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.basesink import BaseSink
from vistream.elements.media import LOCATION_CAPS, FileRef, check_readable
from vistream.elements.video import download_buffer


@register
class FileSrc(SourceElement):
    """Reads a file. It hands the file to the next element (a demuxer, parser or decoder), which reads it
    with FFmpeg; a missing or unreadable file is an ERROR naming this element and the location."""

    FACTORY = "filesrc"
    KLASS = "Source/File"
    DESCRIPTION = "Read from arbitrary point in a file"
    PAD_TEMPLATES = (PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "ANY"),)
    PROPERTIES = (
        Property.string("location", None, "Location of the file to read"),
        Property.int("num-buffers", -1, "Number of buffers to output before sending EOS (-1 = all)", -1),
        Property.uint("blocksize", 4096, "Size in bytes to read per buffer (accepted for compatibility)"),
    )

    def start(self) -> None:
        if not self._props["location"]:
            raise ElementError('property "location" is not set', self.name)

    def produce(self) -> Iterator[Buffer]:
        path = self._props["location"]
        check_readable(path, self.name)
        yield Buffer(FileRef(os.path.abspath(path)), caps=Caps(LOCATION_CAPS, location=path))


@register
class FileSink(BaseSink):
    """Writes incoming bytes (encoded packets, muxed data, JPEG images) to a file."""

    FACTORY = "filesink"
    KLASS = "Sink/File"
    DESCRIPTION = "Write stream to a file"
    PAD_TEMPLATES = (SINK_ANY,)
    PROPERTIES = (
        Property.string("location", None, "Location of the file to write"),
        Property.bool("append", False, "Append to an already existing file"),
        Property.enum("buffer-mode", -1, "The buffering mode to use",
                      [(-1, "default", "Default buffering"), (0, "full", "Fully buffered"),
                       (1, "line", "Line buffered"), (2, "unbuffered", "Unbuffered")]),
    )

    def start(self) -> None:
        loc = self._props["location"]
        if not loc:
            raise ElementError('property "location" is not set', self.name)
        parent = os.path.dirname(os.path.abspath(loc))
        if not os.path.isdir(parent):
            raise ElementError(f'could not open file "{loc}" for writing: directory "{parent}" does not exist',
                               self.name)
        self._file = None

    def render(self, buffer: Buffer) -> FlowReturn | None:
        data = buffer.data
        if isinstance(data, (FileMuxOutput,)):
            return FlowReturn.OK
        if self._file is None:
            self._file = open(self._props["location"], "ab" if self._props["append"] else "wb")  # noqa: SIM115
        download_buffer(buffer)  # raw frames of a GPU batch are written from a host copy
        self._file.write(bytes(buffer.data))
        return FlowReturn.OK

    def stop(self) -> None:
        f = getattr(self, "_file", None)
        if f is not None:
            f.close()
            self._file = None


class FileMuxOutput:
    """Marker buffer payload: a muxer wrote the file itself (see ``mp4mux``); the filesink only names it."""

    def __init__(self, path: str):
        self.path = path
