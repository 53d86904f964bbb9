"""GStreamer RTSP server process: serves H.264/H.265 access units read from stdin at ``rtsp://host:port/mount``.

Run by :class:`vistream.live.rtsp_server.RtspServer` with an interpreter that has GStreamer's Python bindings
(``gi`` with ``GstRtspServer``); it imports only the standard library and ``gi``, so it also runs under the
system Python while vistream itself lives in a virtual environment.

stdin framing, one record per access unit: ``>I`` payload length, ``>B`` flags (1 = keyframe), payload (Annex B).
A new media (the first client, or the first after all clients left) starts at the next keyframe; all clients of
one mount share it (``shared``), so several players watch at once.
"""

from __future__ import annotations

import argparse
import struct
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

HEADER = struct.Struct(">IB")


class Feed:
    """Hands access units to the appsrc of every live media of the mount."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sources: list[list] = []  # [appsrc, waiting_for_keyframe]

    def media_configured(self, _factory, media) -> None:
        appsrc = media.get_element().get_child_by_name("src")
        entry = [appsrc, True]
        with self.lock:
            self.sources.append(entry)
        media.connect("unprepared", self._unprepared, entry)

    def _unprepared(self, _media, entry) -> None:
        with self.lock:
            if entry in self.sources:
                self.sources.remove(entry)

    def push(self, data: bytes, key: bool) -> None:
        with self.lock:
            targets = list(self.sources)
        for entry in targets:
            if entry[1] and not key:
                continue  # a decoder can only start at a keyframe
            entry[1] = False
            entry[0].emit("push-buffer", Gst.Buffer.new_wrapped(data))


def read_stdin(feed: Feed, loop: GLib.MainLoop) -> None:
    stream = sys.stdin.buffer
    while True:
        head = stream.read(HEADER.size)
        if len(head) < HEADER.size:
            break
        size, flags = HEADER.unpack(head)
        data = stream.read(size)
        if len(data) < size:
            break
        feed.push(data, bool(flags & 1))
    loop.quit()  # the producer went away: stop serving


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mount", default="/ds-test")
    ap.add_argument("--codec", choices=("h264", "h265"), default="h264")
    ap.add_argument("--protocols", default="tcp-udp", choices=("tcp", "udp", "tcp-udp"))
    args = ap.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    parse, pay = ("h264parse", "rtph264pay") if args.codec == "h264" else ("h265parse", "rtph265pay")
    caps = "video/x-h264,stream-format=byte-stream,alignment=au" if args.codec == "h264" else \
        "video/x-h265,stream-format=byte-stream,alignment=au"
    factory.set_launch(f"( appsrc name=src is-live=true do-timestamp=true format=time caps={caps} ! "
                       f"{parse} config-interval=-1 ! {pay} name=pay0 pt=96 config-interval=-1 )")
    factory.set_shared(True)
    protos = {"tcp": GstRtsp.RTSPLowerTrans.TCP, "udp": GstRtsp.RTSPLowerTrans.UDP,
              "tcp-udp": GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP}[args.protocols]
    factory.set_protocols(protos)
    feed = Feed()
    factory.connect("media-configure", feed.media_configured)
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on {args.host}:{args.port}", file=sys.stderr, flush=True)
        return 2
    loop = GLib.MainLoop()
    threading.Thread(target=read_stdin, args=(feed, loop), daemon=True).start()
    print(f"READY rtsp://{args.host}:{args.port}{args.mount}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
