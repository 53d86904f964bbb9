"""Built-in elements. Importing this package registers them (``vistream inspect`` lists them)."""

from vistream.elements import (  # noqa: F401
    app,
    basic,
    decode,
    demux,
    encode,
    filesrc,
    mux,
    streamdemux,
    streammux,
    testsrc,
    urisrc,
)
