"""A local RTSP camera for tests: GStreamer's RTSP server fed from a sample clip, in real time, looping.

The server is installed on demand (Debian packages, as root) when its Python bindings are missing, started
on a free 127.0.0.1 port, and can be killed and restarted on the same port (a camera that drops).

Example::

    with RtspCamera(clip) as cam:
        print(cam.url)           # rtsp://127.0.0.1:PORT/cam
        cam.kill(); cam.start()  # the camera comes back on the same URL
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import av

from tests.servers.brokers import free_port
from vistream.live import rtsp_server
from vistream.live.rtsp_server import RtspServer, RtspServerError

DEBIAN_PACKAGES = ["gstreamer1.0-tools", "gstreamer1.0-plugins-base", "gstreamer1.0-plugins-good",
                   "gstreamer1.0-plugins-bad", "gstreamer1.0-rtsp", "gir1.2-gst-rtsp-server-1.0", "python3-gst-1.0"]


def ensure_gst_rtsp_server() -> str:
    """The interpreter that runs GStreamer's RTSP server; installs the Debian packages first if needed."""
    exe = rtsp_server.gst_python()
    if exe is not None:
        return exe
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(f"GStreamer's RTSP server is missing and cannot be installed here: {rtsp_server.INSTALL_HINT}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *DEBIAN_PACKAGES]
    if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=True)
        subprocess.run(cmd, env=env, capture_output=True, check=True)
    rtsp_server._found = None
    exe = rtsp_server.gst_python()
    if exe is None:
        raise RuntimeError("installed GStreamer's RTSP server but its Python bindings still do not import")
    return exe


def annexb_access_units(clip: Path) -> tuple[list[tuple[bytes, bool]], float]:
    """The clip's H.264 packets as Annex B access units (stream copy: no re-encode), and its frame rate."""
    with av.open(str(clip)) as c:
        st = c.streams.video[0]
        fps = float(st.average_rate or 30)
        bsf = av.BitStreamFilterContext("h264_mp4toannexb", st)
        units = []
        for pkt in c.demux(st):
            if pkt.size == 0:
                continue
            for out in bsf.filter(pkt):
                units.append((bytes(out), bool(out.is_keyframe)))
    if not units or not units[0][1]:
        raise ValueError(f"{clip}: expected an H.264 clip that starts with a keyframe")
    return units, fps


class RtspCamera:
    """An RTSP server that plays ``clip`` in a loop at its frame rate, like a live camera."""

    def __init__(self, clip: Path, port: int | None = None, mount: str = "/cam", protocols: str = "tcp-udp"):
        ensure_gst_rtsp_server()
        self.units, self.fps = annexb_access_units(clip)
        self.port = port or free_port()
        self.mount = mount
        self.protocols = protocols
        self.server: RtspServer | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.sent = 0

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}{self.mount}"

    def start(self) -> RtspCamera:
        self.server = RtspServer(self.port, self.mount, host="127.0.0.1", protocols=self.protocols).start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._feed, args=(self.server,), daemon=True)
        self._thread.start()
        return self

    def _feed(self, server: RtspServer) -> None:
        period = 1.0 / self.fps
        next_t = time.monotonic()
        i = 0
        while not self._stop.is_set():
            data, key = self.units[i % len(self.units)]
            try:
                server.send(data, key)
            except RtspServerError:
                return  # killed
            self.sent += 1
            i += 1
            next_t += period
            delay = next_t - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)

    def _join(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def kill(self) -> None:
        """Kill the server process (a camera that drops off the network)."""
        if self.server is not None:
            self.server.kill()
        self._join()
        self.server = None

    def stop(self) -> None:
        self._join()
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> RtspCamera:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
