"""HTTP and HLS input through uridecodebin: a real HTTP server (the standard library's) serving an MP4 and an
HLS playlist made from the sample clip by stream copy."""

from __future__ import annotations

import functools
import http.server
import threading

import av
import pytest

import vistream
from vistream import PadProbeReturn, PadProbeType


@pytest.fixture
def http_dir(tmp_path, traffic_clip):
    # HLS: the 48-frame clip cut into segments (stream copy)
    with av.open(str(traffic_clip)) as src:
        st = src.streams.video[0]
        with av.open(str(tmp_path / "index.m3u8"), "w", format="hls",
                     options={"hls_time": "1", "hls_list_size": "0", "hls_playlist_type": "vod"}) as out:
            ost = out.add_stream_from_template(st)
            for pkt in src.demux(st):
                if pkt.dts is None:
                    continue
                pkt.stream = ost
                out.mux(pkt)
    (tmp_path / "clip.mp4").write_bytes(traffic_clip.read_bytes())
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize("name", ["clip.mp4", "index.m3u8"])
def test_uridecodebin_reads_http_and_hls(http_dir, name):
    frames = []
    p = vistream.parse_launch(f"uridecodebin uri={http_dir}/{name} ! m.sink_0 nvstreammux name=m batch-size=1 ! "
                              "fakesink name=sink")

    def probe(pad, info, _):
        for fm in info.get_buffer().batch_meta.frame_meta_list:
            frames.append((fm.frame_num, fm.source_frame_width, fm.source_frame_height))
        return PadProbeReturn.OK

    p.get_by_name("sink").get_static_pad("sink").add_probe(PadProbeType.BUFFER, probe)
    p.run(timeout=60)
    assert [f[0] for f in frames] == list(range(48))
    assert {f[1:] for f in frames} == {(640, 360)}
