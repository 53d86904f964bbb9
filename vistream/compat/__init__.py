"""Run DeepStream Python apps (the deepstream_python_apps style) by changing only their imports.

Replace ``gi.repository``'s ``Gst`` / ``GLib`` and NVIDIA's ``pyds`` with::

    from vistream.compat import GLib, Gst, pyds

``Gst`` wraps vistream's engine in GStreamer's Python API (:mod:`vistream.compat.gst`), ``GLib`` gives the
main loop that dispatches bus watches and timeouts (:mod:`vistream.compat.glib`), ``pyds`` reads and edits
vistream's metadata tree through pyds's names, GList-style lists and casts (:mod:`vistream.compat.pyds`).
``GObject`` is ``GLib`` too (``GObject.threads_init()`` of older samples).
"""

from vistream.compat import glib as GLib  # noqa: N812 - the names scripts use
from vistream.compat import gst as Gst  # noqa: N812
from vistream.compat import pyds

GObject = GLib

__all__ = ["GLib", "GObject", "Gst", "pyds"]
