"""Buffers in flight: lets ``pyds.gst_buffer_get_nvds_batch_meta(hash(buf))`` find the buffer behind a hash.

``hash(buffer)`` is ``id(buffer)`` (``Buffer.__hash__``). A compat pad probe registers the buffer it hands to
user code for as long as the callback runs, so the lookup works from any probe, in any streaming thread.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from vistream.core.buffer import Buffer

_lock = threading.Lock()
_in_flight: dict[int, list[Any]] = {}  # hash -> [buffer, reference count]
_pulled: OrderedDict[int, Buffer] = OrderedDict()  # buffers the application pulled from an appsink
PULLED_KEPT = 4  # whole batches of frames: keep few


@contextmanager
def in_flight(buffer: Buffer | None) -> Iterator[None]:
    """Make ``buffer`` findable by its hash while the ``with`` block runs."""
    if buffer is None:
        yield
        return
    key = hash(buffer)
    with _lock:
        entry = _in_flight.setdefault(key, [buffer, 0])
        entry[1] += 1
    try:
        yield
    finally:
        with _lock:
            entry[1] -= 1
            if entry[1] <= 0:
                _in_flight.pop(key, None)


def remember(buffer: Buffer) -> None:
    """Keep a buffer pulled from an appsink findable by its hash (the last ``PULLED_KEPT`` of them: each holds a batch of frames)."""
    with _lock:
        _pulled[hash(buffer)] = buffer
        while len(_pulled) > PULLED_KEPT:
            _pulled.popitem(last=False)


def lookup(handle: Any, caller: str) -> Buffer:
    """The buffer whose ``hash()`` is ``handle`` (a :class:`Buffer` is accepted as it is)."""
    if isinstance(handle, Buffer):
        return handle
    if not isinstance(handle, int):
        raise TypeError(f"pyds.{caller}: expected hash(gst_buffer), got {type(handle).__name__}")
    with _lock:
        entry = _in_flight.get(handle)
        pulled = _pulled.get(handle)
    if entry is None and pulled is not None:
        return pulled
    if entry is None:
        raise ValueError(f"pyds.{caller}: no buffer with hash {handle} is in flight; call it inside a pad probe "
                         "added through vistream.compat, passing hash(info.get_buffer()), or on a buffer just "
                         "pulled from an appsink")
    return entry[0]
