"""Display sinks (``autovideosink``, ``nveglglessink``, ``nv3dsink``, ``xvimagesink``, ``ximagesink``,
``glimagesink``) and the pass-through ``nvegltransform``.

Where a display exists (``DISPLAY`` or ``WAYLAND_DISPLAY`` set, or macOS/Windows) the frames are shown in a
window: with ``cv2.imshow`` when the installed OpenCV has GUI support, else with tkinter. Without a display
the sink prints one line to stderr and then behaves like ``fakesink sync=false``, so the same launch line runs
on a headless server to EOS.
"""

from __future__ import annotations

import gc
import math
import os
import queue
import sys
import threading

import cv2
import numpy as np

from vistream.core.buffer import Buffer, FlowReturn
from vistream.core.element import Element, register
from vistream.core.errors import ElementError
from vistream.core.pad import PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.basesink import BaseSink
from vistream.elements.tiler import Tiler
from vistream.elements.video import buffer_format, convert_color, download_buffer


def display_unavailable_reason(env: dict[str, str] | None = None) -> str | None:
    """Why no window can be opened (``None`` when a display seems available)."""
    env = os.environ if env is None else env
    if sys.platform in ("win32", "darwin"):
        return None
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return "DISPLAY is not set"


def opencv_has_gui() -> bool:
    """True when this OpenCV build can open windows (the headless wheels cannot)."""
    info = cv2.getBuildInformation()
    for line in info.splitlines():
        if line.strip().startswith("GUI:"):
            return line.split(":", 1)[1].strip().upper() not in ("NONE", "")
    return False


def to_rgb_picture(buffer: Buffer) -> np.ndarray:
    """The picture a display sink shows for a buffer: its frame as RGB, or a grid of all frames of a batch."""
    fmt = buffer_format(buffer.caps)
    frames = buffer.data
    if len(frames) == 1:
        rgb = convert_color(frames[0], fmt, "RGB")
    else:
        cols = math.ceil(math.sqrt(len(frames)))
        rows = math.ceil(len(frames) / cols)
        h, w = frames[0].shape[:2]
        tiler = Tiler(rows, cols, cols * w, rows * h)
        rgb, _ = tiler.composite(frames, fmt, None)  # batch order: every frame gets a tile
        rgb = convert_color(rgb, "RGB" if fmt in ("NV12", "I420") else fmt, "RGB")
    if rgb.ndim == 2:
        rgb = cv2.cvtColor(rgb, cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(rgb)


def ppm_bytes(rgb: np.ndarray) -> bytes:
    """An RGB frame as binary PPM (P6): the format Tk's PhotoImage reads without extra libraries."""
    h, w = rgb.shape[:2]
    return b"P6 %d %d 255\n" % (w, h) + np.ascontiguousarray(rgb, np.uint8).tobytes()


class _CvWindow:
    """A window through OpenCV's HighGUI (desktop OpenCV builds)."""

    def __init__(self, title: str, x: int, y: int, fullscreen: bool):
        self.title = title
        cv2.namedWindow(title, cv2.WINDOW_NORMAL)
        if x or y:
            cv2.moveWindow(title, x, y)
        if fullscreen:
            cv2.setWindowProperty(title, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN)
        self.closed = False

    def show(self, rgb: np.ndarray) -> None:
        cv2.imshow(self.title, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        cv2.waitKey(1)
        if cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            self.closed = True

    def close(self) -> None:
        cv2.destroyWindow(self.title)


class _TkWindow:
    """A window through tkinter, driven by its own thread (Tk must stay in the thread that created it)."""

    def __init__(self, title: str, x: int, y: int, fullscreen: bool):
        self._frames: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=2)
        self._ready = threading.Event()
        self._error: str | None = None
        self.closed = False
        self._thread = threading.Thread(target=self._run, args=(title, x, y, fullscreen), daemon=True,
                                        name=f"vistream:{title}:window")
        self._thread.start()
        self._ready.wait(10.0)
        if self._error is not None:
            raise ElementError(self._error)

    def _run(self, title: str, x: int, y: int, fullscreen: bool) -> None:
        try:
            import tkinter

            root = tkinter.Tk()
        except Exception as e:  # no Tk, or the X server refused us
            self._error = f"cannot open a window: {e}"
            self._ready.set()
            return
        root.title(title)
        if x or y:
            root.geometry(f"+{x}+{y}")
        if fullscreen:
            root.attributes("-fullscreen", True)
        label = tkinter.Label(root, borderwidth=0)
        label.pack()
        photo: list = [None]

        def on_close() -> None:
            self.closed = True
            root.destroy()

        def poll() -> None:
            try:
                while True:
                    rgb = self._frames.get_nowait()
                    if rgb is None:
                        root.destroy()
                        return
                    photo[0] = tkinter.PhotoImage(data=ppm_bytes(rgb), format="PPM")
                    label.configure(image=photo[0])
            except queue.Empty:
                pass
            root.after(5, poll)

        root.protocol("WM_DELETE_WINDOW", on_close)
        root.after(5, poll)
        self._ready.set()
        try:
            root.mainloop()
        finally:
            self.closed = True
            # Tcl objects must die in the thread that made them, or the interpreter aborts the process at
            # exit ("Tcl_AsyncDelete: async handler deleted by the wrong thread"): drop every reference here.
            photo[0] = None
            label = poll = on_close = root = None  # noqa: F841
            gc.collect()

    def show(self, rgb: np.ndarray) -> None:
        try:
            self._frames.put_nowait(rgb)
        except queue.Full:  # the window is slower than the stream: show the newest picture
            try:
                self._frames.get_nowait()
            except queue.Empty:
                pass
            self._frames.put_nowait(rgb)

    def close(self) -> None:
        try:
            self._frames.put(None, timeout=1.0)
        except queue.Full:
            pass
        self._thread.join(2.0)


class DisplaySink(BaseSink):
    """Shows each frame in a window; without a display, a fakesink with ``sync=false`` (one notice on stderr).

    ``sync`` defaults to true when a window is shown (play at the stream's speed). ``window-width`` and
    ``window-height`` scale the picture (0 = the frame's size); ``window-x``/``window-y`` place the window;
    ``fullscreen`` fills the screen. A batch without a tiler is shown as a grid. Closing the window posts an
    ERROR ("Output window was closed"), as GStreamer's video sinks do.
    """

    KLASS = "Sink/Video"
    SYNC_DEFAULT = True
    PAD_TEMPLATES = (PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, "video/x-raw"),)
    PROPERTIES = (
        Property.uint("window-x", 0, "X coordinate of the window"),
        Property.uint("window-y", 0, "Y coordinate of the window"),
        Property.uint("window-width", 0, "Width of the window (0 = the frame's width)"),
        Property.uint("window-height", 0, "Height of the window (0 = the frame's height)"),
        Property.bool("fullscreen", False, "Show the video full screen"),
        Property.bool("force-aspect-ratio", True, "Keep the aspect ratio when scaling (accepted)"),
        Property.uint("gpu-id", 0, "GPU device ID (accepted)"),
    )

    def __init__(self, name=None, _factory=None, **props):
        super().__init__(name, _factory, **props)
        self._window: _CvWindow | _TkWindow | None = None
        self.headless_reason: str | None = None

    def start(self) -> None:
        self._window = None
        reason = display_unavailable_reason()
        if reason is None:
            pr = self._props
            args = (self.name, pr["window-x"], pr["window-y"], pr["fullscreen"])
            try:
                self._window = _CvWindow(*args) if opencv_has_gui() else _TkWindow(*args)
            except (ElementError, cv2.error) as e:
                reason = str(getattr(e, "message", e))
        self.headless_reason = reason
        if reason is not None:
            print(f"{self.name}: no display available ({reason}); running without a window, like fakesink",
                  file=sys.stderr, flush=True)
            if "sync" not in self._set_props:
                self._props["sync"] = False
        elif "sync" not in self._set_props:
            self._props["sync"] = True

    def stop(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None

    def render(self, buffer: Buffer) -> FlowReturn | None:
        win = self._window
        if win is None:
            return FlowReturn.OK
        if win.closed:
            raise ElementError("Output window was closed")
        download_buffer(buffer)  # a GPU batch is shown from a host copy
        rgb = to_rgb_picture(buffer)
        ww, wh = self._props["window-width"], self._props["window-height"]
        if ww or wh:
            h, w = rgb.shape[:2]
            ww, wh = ww or max(1, round(w * wh / h)), wh or max(1, round(h * ww / w))
            rgb = cv2.resize(rgb, (ww, wh), interpolation=cv2.INTER_AREA if ww < w else cv2.INTER_LINEAR)
        win.show(rgb)
        return FlowReturn.OK


@register
class AutoVideoSink(DisplaySink):
    FACTORY = "autovideosink"
    DESCRIPTION = "Shows video in a window (fakesink when there is no display)"


@register
class NvEglGlesSink(DisplaySink):
    FACTORY = "nveglglessink"
    ALIASES = ("eglglessink",)
    DESCRIPTION = "EGL/GLES video sink: shows video in a window (fakesink when there is no display)"


@register
class Nv3dSink(DisplaySink):
    FACTORY = "nv3dsink"
    DESCRIPTION = "Jetson video sink: shows video in a window (fakesink when there is no display)"


@register
class XvImageSink(DisplaySink):
    FACTORY = "xvimagesink"
    DESCRIPTION = "XVideo sink: shows video in a window (fakesink when there is no display)"


@register
class XImageSink(DisplaySink):
    FACTORY = "ximagesink"
    DESCRIPTION = "X11 sink: shows video in a window (fakesink when there is no display)"


@register
class GlImageSink(DisplaySink):
    FACTORY = "glimagesink"
    ALIASES = ("waylandsink", "d3dvideosink", "osxvideosink")
    DESCRIPTION = "OpenGL sink: shows video in a window (fakesink when there is no display)"


@register
class NvEglTransform(Element):
    """Pass-through (on Jetson it moves NVMM buffers to EGL images for nveglglessink; not needed here)."""

    FACTORY = "nvegltransform"
    KLASS = "Filter/Video"
    DESCRIPTION = "Passes video through (EGL transform is not needed on this platform)"
    TRANSPARENT = True
    PAD_TEMPLATES = (PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, "video/x-raw"),
                     PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "video/x-raw"))
    PROPERTIES = (Property.uint("bufapi-version", 1, "Set to use new buffer API (accepted)"),)
