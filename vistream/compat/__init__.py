"""Run DeepStream Python apps (the deepstream_python_apps style) by changing only their imports.

Replace ``gi.repository``'s ``Gst`` / ``GLib`` and NVIDIA's ``pyds`` with::

    from vistream.compat import GLib, Gst, pyds

``Gst`` wraps vistream's engine in GStreamer's Python API (:mod:`vistream.compat.gst`), ``GLib`` gives the
main loop that dispatches bus watches and timeouts (:mod:`vistream.compat.glib`), ``pyds`` reads and edits
vistream's metadata tree through pyds's names, GList-style lists and casts (:mod:`vistream.compat.pyds`).
``GObject`` is ``GLib`` too (``GObject.threads_init()`` of older samples), and ``gi.require_version(...)`` lines
keep working with ``from vistream.compat import gi``.
"""

from types import SimpleNamespace

from vistream.compat import glib as GLib  # noqa: N812 - the names scripts use
from vistream.compat import gst as Gst  # noqa: N812
from vistream.compat import pyds

GObject = GLib


def _require_version(namespace: str, version: str) -> None:
    """``gi.require_version``: the namespaces vistream.compat provides, at any version."""
    if namespace not in ("Gst", "GLib", "GObject", "GstBase", "GstVideo"):
        raise ValueError(f"vistream.compat provides Gst, GLib and GObject, not {namespace!r}")


gi = SimpleNamespace(require_version=_require_version,
                     repository=SimpleNamespace(Gst=Gst, GLib=GLib, GObject=GObject))

__all__ = ["GLib", "GObject", "Gst", "gi", "pyds"]
