"""Built-in elements. Importing this package registers them (``vistream inspect`` lists them)."""

from vistream.elements import (  # noqa: F401
    analytics,
    app,
    basic,
    decode,
    demux,
    encode,
    filesrc,
    infer,
    mux,
    streamdemux,
    streammux,
    testsrc,
    track,
    urisrc,
)
