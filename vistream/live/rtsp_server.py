"""RTSP output: GStreamer's ``gst-rtsp-server`` (the server DeepStream itself uses) in a helper process.

vistream encodes the stream (H.264/H.265 with libx264/libx265 through PyAV) and writes access units into the
helper's stdin; the helper payloads them as RTP and serves ``rtsp://<host>:<port>/<mount>`` to any number of
clients over TCP or UDP. Running the server in its own process keeps GLib's main loop and GStreamer out of
the analytics process, and lets vistream run in a virtual environment while the GStreamer bindings come from
the system packages (Debian/Ubuntu: ``apt-get install gir1.2-gst-rtsp-server-1.0 python3-gst-1.0
gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad``).

Example::

    with RtspServer(port=8554, mount="/ds-test") as srv:
        srv.send(annexb_access_unit, keyframe=True)
        print(srv.url)          # rtsp://127.0.0.1:8554/ds-test
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from vistream.core.errors import VistreamError

HELPER = Path(__file__).with_name("gst_rtsp_helper.py")
INSTALL_HINT = ("install GStreamer's RTSP server and its Python bindings, e.g. on Debian/Ubuntu: apt-get install "
                "gir1.2-gst-rtsp-server-1.0 python3-gst-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good "
                "gstreamer1.0-plugins-bad gstreamer1.0-rtsp (or point VISTREAM_GST_PYTHON at a Python that has them)")

_CHECK = "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"
_found: str | None = None


class RtspServerError(VistreamError):
    """The RTSP server could not be started (missing GStreamer, port taken) or died."""


def gst_python() -> str | None:
    """An interpreter that can import GStreamer's RTSP server bindings: ``$VISTREAM_GST_PYTHON``, this Python,
    or the system's ``python3``; None when there is none."""
    global _found
    if _found is not None:
        return _found
    candidates = [os.environ.get("VISTREAM_GST_PYTHON"), sys.executable, shutil.which("python3"),
                  "/usr/bin/python3"]
    for exe in dict.fromkeys(c for c in candidates if c):
        try:
            ok = subprocess.run([exe, "-c", _CHECK], capture_output=True, timeout=20).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            _found = exe
            return exe
    return None


def _frame_header(size: int, key: bool) -> bytes:
    return size.to_bytes(4, "big") + (b"\x01" if key else b"\x00")


class RtspServer:
    """One RTSP mount served by a ``gst-rtsp-server`` helper process.

    ``send(access_unit, keyframe)`` publishes one Annex B access unit; clients that connect later start at
    the next keyframe (send SPS/PPS with every keyframe). ``protocols``: ``tcp``, ``udp`` or ``tcp-udp``.
    """

    def __init__(self, port: int = 8554, mount: str = "/ds-test", host: str = "0.0.0.0", codec: str = "h264",
                 protocols: str = "tcp-udp", start_timeout: float = 15.0):
        if not mount.startswith("/"):
            mount = "/" + mount
        if codec not in ("h264", "h265"):
            raise RtspServerError(f'RTSP output codec must be "h264" or "h265", not "{codec}"')
        self.port, self.mount, self.host, self.codec, self.protocols = port, mount, host, codec, protocols
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self.sent = 0
        self._stderr: list[str] = []
        self._ready_line = False

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"rtsp://{host}:{self.port}{self.mount}"

    def start(self) -> RtspServer:
        exe = gst_python()
        if exe is None:
            raise RtspServerError(f"RTSP output needs GStreamer's RTSP server, which is not installed: {INSTALL_HINT}")
        cmd = [exe, str(HELPER), "--host", self.host, "--port", str(self.port), "--mount", self.mount,
               "--codec", self.codec, "--protocols", self.protocols]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ready = threading.Event()
        self._ready_line = False
        threading.Thread(target=self._read_stdout, args=(self.proc, ready), daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(self.proc,), daemon=True).start()
        if not ready.wait(self.start_timeout) or not self._ready_line:
            self.stop()
            err = "".join(self._stderr[-5:]).strip()
            raise RtspServerError(f"RTSP server on port {self.port} did not start" + (f": {err}" if err else ""))
        return self

    def _read_stdout(self, proc: subprocess.Popen, ready: threading.Event) -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith(b"READY"):
                self._ready_line = True
                ready.set()
        ready.set()  # the helper exited (start() then reports why)

    def _read_stderr(self, proc: subprocess.Popen) -> None:
        for line in proc.stderr:  # type: ignore[union-attr]
            self._stderr = (self._stderr + [line.decode(errors="replace")])[-50:]

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send(self, access_unit: bytes, keyframe: bool) -> None:
        """Publish one Annex B access unit. Raises :class:`RtspServerError` if the server died."""
        proc = self.proc
        if proc is None or proc.stdin is None:
            raise RtspServerError("RTSP server is not running")
        with self._lock:
            try:
                proc.stdin.write(_frame_header(len(access_unit), keyframe) + access_unit)
                proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                err = "".join(self._stderr[-3:]).strip()
                raise RtspServerError(f"RTSP server on port {self.port} stopped" + (f": {err}" if err else "")) from None
        self.sent += 1

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()  # the helper quits at end of input
        except OSError:
            pass
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(3)

    def kill(self) -> None:
        """Kill the server abruptly (as a crashed camera)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(3)
            self.proc = None

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
