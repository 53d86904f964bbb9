"""RTSP output (nvrtspoutsinkbin, deepstream-app sink type 4), read back by PyAV over TCP and UDP."""

from __future__ import annotations

import threading

import av
import numpy as np
import pytest

import vistream
import vistream.elements.rtsp  # noqa: F401  (registers nvrtspoutsinkbin until the package imports it)
from tests.servers.brokers import free_port
from tests.servers.rtsp import ensure_gst_rtsp_server
from vistream import State

pytestmark = pytest.mark.server


def _read(url: str, transport: str, n: int, out: dict, key: str) -> None:
    try:
        with av.open(url, options={"rtsp_transport": transport}, timeout=10) as c:
            frames = []
            for f in c.decode(video=0):
                frames.append(f.to_ndarray(format="rgb24"))
                if len(frames) == n:
                    break
        out[key] = frames
    except Exception as e:  # reported by the test
        out[key] = e


def test_annotated_stream_is_served_at_ds_test_to_several_clients(traffic_clip):
    ensure_gst_rtsp_server()
    port = free_port()
    p = vistream.parse_launch(
        f"uridecodebin uri=file://{traffic_clip} file-loop=1 ! m.sink_0 nvstreammux name=m batch-size=1 "
        f"width=640 height=360 ! nvdsosd ! nvrtspoutsinkbin name=out rtsp-port={port} rtsp-host=127.0.0.1 "
        "bitrate=1000000 iframeinterval=10 sync=1")
    assert p.set_state(State.PLAYING) == vistream.StateChangeReturn.SUCCESS
    out = p.get_by_name("out")
    assert out.url == f"rtsp://127.0.0.1:{port}/ds-test"
    results: dict = {}
    try:
        readers = [threading.Thread(target=_read, args=(out.url, t, 15, results, t)) for t in ("tcp", "udp")]
        for r in readers:
            r.start()
        for r in readers:
            r.join(30)
    finally:
        p.set_state(State.NULL)
    for transport in ("tcp", "udp"):
        frames = results.get(transport)
        assert isinstance(frames, list), f"{transport} client: {frames!r}"
        assert len(frames) == 15
        assert {f.shape for f in frames} == {(360, 640, 3)}
        # real picture content (the traffic clip), not a blank frame
        assert np.std(frames[-1]) > 20
    # every received frame is a frame of the source clip (lossy coding: best PSNR against the clip's frames)
    with av.open(str(traffic_clip)) as c:
        clip = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)]).astype(np.float32)
    for f in results["tcp"][::5]:
        mse = ((clip - f.astype(np.float32)) ** 2).mean(axis=(1, 2, 3))
        assert 10 * np.log10(255**2 / mse.min()) > 28
    assert out.frames_sent >= 15


def test_taken_port_fails_the_state_change_naming_the_element(traffic_clip):
    ensure_gst_rtsp_server()
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        p = vistream.parse_launch(f"uridecodebin uri=file://{traffic_clip} ! m.sink_0 nvstreammux name=m "
                                  f"batch-size=1 ! nvrtspoutsinkbin name=rtspout rtsp-port={port} rtsp-host=127.0.0.1")
        with pytest.raises(vistream.PipelineError) as ei:
            p.run(timeout=30)
    assert ei.value.element == "rtspout"
    assert str(port) in str(ei.value)


def test_pipeline_manager_serves_its_tiled_view_over_rtsp(traffic_clip):
    from vistream.live.manager import ManagerOptions, PipelineManager

    ensure_gst_rtsp_server()
    port = free_port()
    opts = ManagerOptions(uris=[str(traffic_clip)], max_streams=2, width=640, height=360, view=False,
                          view_width=960, view_height=540, rtsp_port=port, rtsp_host="127.0.0.1")
    results: dict = {}
    with PipelineManager(opts):
        _read(f"rtsp://127.0.0.1:{port}/ds-test", "tcp", 5, results, "tcp")
    frames = results["tcp"]
    assert isinstance(frames, list), frames
    assert {f.shape for f in frames} == {(540, 960, 3)}
    # two tiles side by side: the clip on the left, an empty (black) slot on the right
    assert frames[-1][:, :470].std() > 20 and frames[-1][:, 490:].mean() < 10
