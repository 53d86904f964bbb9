"""Every Python sample runs end to end in both styles (vistream.compat and the native API) on the short clips.

Each pair must print the same thing; test1's per-class counts must also equal counts computed here with the
native API, and test3's counts for the traffic stream the same numbers again (batch of two). The samples run
on the first 25 frames of the 48-frame clips to keep the suite fast.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import cv2
import pytest

import vistream
from vistream.elements.dsexample import COLOR_NAMES
from vistream.meta import get_batch_meta
from vistream.msg.adapters import register_adapter

from .conftest import ROOT, SHORT_FRAMES, load_sample

pytestmark = pytest.mark.slow
CONFIG = ROOT / "samples" / "configs" / "config_infer_primary_yoloX.txt"
N = SHORT_FRAMES  # frames of the short clips the multi-stream samples run on
FRAME_LINE = re.compile(r"^Frame Number=(\d+)(?: Source=(\d+))? Number of Objects=(\d+)((?: \S+=\d+)*)$")


def _run(relpath: str, args: list, capsys) -> list[str]:
    module = load_sample(relpath)
    assert module.main([relpath, *map(str, args)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "End-of-stream" or "End-of-stream" in out
    return out


def _counts(lines: list[str]) -> dict[tuple[int, int], Counter]:
    """(source, frame) -> Counter of labels, from the 'Frame Number=...' lines."""
    out = {}
    for line in lines:
        m = FRAME_LINE.match(line)
        if m:
            frame, source, total, per_class = m.groups()
            c = Counter({k: int(v) for k, v in (kv.split("=") for kv in per_class.split())})
            assert sum(c.values()) == int(total), line
            out[(int(source or 0), int(frame))] = c
    return out


@pytest.fixture(scope="module")
def reference_counts(short_clips) -> dict[int, Counter]:
    """Objects per class in each frame of the short traffic clip, with the native API (1280x720 muxer, YOLOX)."""
    pipeline = vistream.parse_launch(
        f"filesrc location={short_clips[0]} ! qtdemux ! h264parse ! nvv4l2decoder ! "
        f"m.sink_0 nvstreammux name=m batch-size=1 width=1280 height=720 ! nvinfer config-file-path={CONFIG} ! "
        "fakesink name=s")
    counts = {}

    def probe(pad, info, _):
        for fm in get_batch_meta(info.get_buffer()).frame_meta_list:
            counts[fm.frame_num] = Counter(o.obj_label for o in fm.obj_meta_list)
        return vistream.PadProbeReturn.OK

    pipeline["s"].get_static_pad("sink").add_probe(vistream.PadProbeType.BUFFER, probe, None)
    pipeline.run(timeout=120)
    assert len(counts) == N and sum(sum(c.values()) for c in counts.values()) > N
    return counts


def test_deepstream_test1_on_an_elementary_stream(traffic_h264, reference_counts, capsys):
    compat = _run("deepstream-test1/deepstream_test_1.py", [traffic_h264], capsys)
    native = _run("deepstream-test1/deepstream_test_1_native.py", [traffic_h264], capsys)
    expected = {(0, f): c for f, c in reference_counts.items()}
    assert _counts(compat) == expected
    assert _counts(native) == expected
    assert "Frame Number=0 Number of Objects=" in "\n".join(compat)


def test_deepstream_test2_tracker_classifier_and_past_frames(short_clips, capsys):
    compat = _run("deepstream-test2/deepstream_test_2.py", [short_clips[0]], capsys)
    native = _run("deepstream-test2/deepstream_test_2_native.py", [short_clips[0]], capsys)
    assert [ln for ln in compat if ln.startswith(("Frame", "  "))] == [ln for ln in native if ln.startswith(("Frame", "  "))]
    assert len(_counts(compat)) == N
    classified = [ln for ln in compat if ln.startswith("  Object ")]
    assert classified and all(re.match(r"  Object \d+ (car|bus|truck): vehicletype=.+ \(0\.\d\d\)$", ln)
                              for ln in classified)
    past = [re.match(r"  Past frames streamId=0 uniqueId=(\d+) classId=\d+ objLabel=\w+ numobj=(\d+) frameNum=\[(.*)\]$",
                     ln) for ln in compat if ln.startswith("  Past")]
    assert past and all(m is not None for m in past)
    assert all(int(m.group(2)) == len(m.group(3).split(",")) for m in past)
    # the first targets were reported after their probation: their first two frames come as past frames
    assert "frameNum=[0, 1]" in "\n".join(compat)


def test_deepstream_test3_two_uris_source_bins(short_clips, reference_counts, capsys):
    compat = _run("deepstream-test3/deepstream_test_3.py", short_clips, capsys)
    native = _run("deepstream-test3/deepstream_test_3_native.py", short_clips, capsys)
    counts = _counts(compat)
    assert counts == _counts(native)
    assert sorted(counts) == [(s, f) for s in (0, 1) for f in range(N)]
    assert {f: counts[(0, f)] for f in range(N)} == {f: reference_counts[f] for f in range(N)}
    assert sum(counts[(1, f)]["person"] for f in range(N)) > N * 5  # the walkway is busy


def test_nvdsanalytics_counts(short_clips, capsys):
    args = [short_clips[1], short_clips[0]]  # the analytics config is written for the walkway as stream 0
    compat = _run("deepstream-nvdsanalytics/deepstream_nvdsanalytics.py", args, capsys)
    native = _run("deepstream-nvdsanalytics/deepstream_nvdsanalytics_native.py", args, capsys)
    body = [ln for ln in compat if ln.startswith(("Frame", "  "))]
    assert body == [ln for ln in native if ln.startswith(("Frame", "  "))]
    roi = [int(m.group(1)) for m in map(re.compile(r"  Objs in ROI: \{'Walkway': (\d+)\}$").match, body) if m]
    # the tracker reports people after their probation (2 frames), then the walkway is never empty
    assert len(roi) == N and roi[:2] == [0, 0] and min(roi[2:]) > 0
    assert sum("Linecrossing Cumulative: {'Southbound'" in ln for ln in body) == N
    objs_in_roi = [ln for ln in body if re.match(r"  Object \d+ roi status: \['Walkway'\]$", ln)]
    assert len(objs_in_roi) == sum(roi)  # one object line per object counted in the ROI


def test_imagedata_saves_object_crops(short_clips, tmp_path, capsys):
    compat = _run("deepstream-imagedata-multistream/deepstream_imagedata-multistream.py",
                  [short_clips[0], tmp_path / "compat"], capsys)
    native = _run("deepstream-imagedata-multistream/deepstream_imagedata_multistream_native.py",
                  [short_clips[0], tmp_path / "native"], capsys)
    saved = [re.match(r"Frame Number=(\d+) Source=0 saved (.+) \((\d+)x(\d+)\)$", ln) for ln in compat
             if " saved " in ln]
    assert saved and f"Saved {len(saved)} crops to {tmp_path / 'compat'}" in compat
    assert f"Saved {len(saved)} crops to {tmp_path / 'native'}" in native
    for m in saved:
        assert int(m.group(1)) % 10 == 0
        path = Path(m.group(2))
        image = cv2.imread(str(path))
        assert image is not None and image.shape[:2] == (int(m.group(4)), int(m.group(3)))
        assert path.read_bytes() == (tmp_path / "native" / path.relative_to(tmp_path / "compat")).read_bytes()
    assert sorted(p.name for p in (tmp_path / "compat" / "stream_0").iterdir()) == sorted(
        Path(m.group(2)).name for m in saved)


def test_dsexample_custom_element(short_clips, capsys):
    compat = _run("deepstream-dsexample/deepstream_dsexample.py", [short_clips[0]], capsys)
    native = _run("deepstream-dsexample/deepstream_dsexample_native.py", [short_clips[0]], capsys)
    lines = [ln for ln in compat if ln.startswith("Frame")]
    assert lines == [ln for ln in native if ln.startswith("Frame")]
    colours = [re.match(r"Frame Number=\d+ \w+ at \(\d+,\d+\): colour=(\w+) \((0\.\d\d|1\.00)\)$", ln) for ln in lines]
    assert len(lines) > N and all(m is not None and m.group(1) in COLOR_NAMES for m in colours)


class _MemoryAdapter:
    """A broker adapter that keeps what it is sent (the real brokers are tested in tests/msg)."""

    protocol = "memory"
    sent: list[dict] = []

    def __init__(self, conn, config):
        pass

    def connect(self, timeout):
        pass

    def publish(self, entries, timeout):
        _MemoryAdapter.sent.extend(json.loads(e.payload) for e in entries)
        return [e.id for e in entries]

    def consume(self, topics, callback, stop, on_ready=None):
        raise NotImplementedError

    def close(self):
        pass


def _stable(payload: dict) -> dict:
    """A payload without the fields that differ on every run (random ids, the time of sending)."""
    payload = dict(payload, event=dict(payload["event"]))
    for key in ("messageid", "@timestamp"):
        payload.pop(key)
    payload["event"].pop("id")
    return payload


def test_deepstream_test4_event_messages(short_clips, tmp_path, monkeypatch, capsys):
    register_adapter("memory", _MemoryAdapter)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # the broker's spool
    args = ["-i", short_clips[0], "-p", "memory", "--conn-str", "localhost;1", "-t", "events", "--frame-interval", "10"]
    sent = {}
    for style in ("deepstream_test_4.py", "deepstream_test_4_native.py"):
        _MemoryAdapter.sent = []
        out = _run(f"deepstream-test4/{style}", args, capsys)
        events = [re.match(r"Frame Number=(\d+) event for (\w+) at \((\d+),(\d+),(\d+),(\d+)\)$", ln) for ln in out
                  if " event for " in ln]
        assert [int(m.group(1)) for m in events] == [0, 10, 20]  # the first car of every 10th frame
        assert len(_MemoryAdapter.sent) == len(events)
        for m, msg in zip(events, _MemoryAdapter.sent, strict=True):
            left, top, w, h = map(int, m.group(3, 4, 5, 6))
            box = msg["object"]["bbox"]  # integers, from the float box the probe printed rounded
            got = (box["topleftx"], box["toplefty"], box["bottomrightx"], box["bottomrighty"])
            assert max(abs(a - b) for a, b in zip(got, (left, top, left + w, top + h), strict=True)) <= 1
            assert msg["object"]["vehicle"]["type"] == m.group(2) == "car" and msg["event"]["type"] == "moving"
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", msg["@timestamp"])
        sent[style] = [_stable(p) for p in _MemoryAdapter.sent]
    assert sent["deepstream_test_4.py"] == sent["deepstream_test_4_native.py"]


def test_deepstream_test5_tracked_objects_to_the_broker(short_clips, tmp_path, monkeypatch, capsys):
    register_adapter("memory", _MemoryAdapter)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    args = ["-p", "memory", "--conn-str", "localhost;1", "-t", "objects", "--frame-interval", "10",
            *short_clips]
    sent = {}
    for style in ("deepstream_test_5.py", "deepstream_test_5_native.py"):
        _MemoryAdapter.sent = []
        out = _run(f"deepstream-test5/{style}", args, capsys)
        printed = Counter()
        for m in filter(None, (re.match(r"Frame Number=(\d+) Source=(\d) sent objects=\[(.*)\]$", ln) for ln in out)):
            assert int(m.group(1)) % 10 == 0
            printed.update((int(m.group(2)), obj.split(":")[0]) for obj in m.group(3).split(", ") if obj)
        assert sum(printed.values()) > 20  # the walkway has 10+ tracked people in frames 10 and 20
        # one message per object of every 10th frame; the sensor ([sensorN] of the msgconv config) tells the source
        received = Counter((0 if "__EBA__" in p["sensor"]["id"] else 1, p["object"]["id"]) for p in _MemoryAdapter.sent)
        assert received == printed
        sent[style] = sorted((_stable(p) for p in _MemoryAdapter.sent), key=json.dumps)
    assert sent["deepstream_test_5.py"] == sent["deepstream_test_5_native.py"]


def test_segmentation_masks(short_clips, tmp_path, capsys):
    compat = _run("deepstream-segmentation/deepstream_segmentation.py", [short_clips[1], tmp_path / "c"], capsys)
    native = _run("deepstream-segmentation/deepstream_segmentation_native.py", [short_clips[1], tmp_path / "n"], capsys)
    lines = [ln for ln in compat if ln.startswith("Frame")]
    assert lines == [ln for ln in native if ln.startswith("Frame")] and len(lines) == N
    for n, line in enumerate(lines):
        m = re.match(r"Frame Number=(\d+) mask 257x257 ((?:\w+=\d+\.\d%(?: |$))+)", line)
        assert m is not None and int(m.group(1)) == n, line
        shares = {k: float(v.rstrip("%")) for k, v in (kv.split("=") for kv in m.group(2).split())}
        assert abs(sum(shares.values()) - 100.0) < 0.5 and shares["person"] > 20.0  # a crowded walkway
        mask = cv2.imread(str(tmp_path / "c" / f"{n}.png"))
        assert mask.shape == (257, 257, 3)
        assert (tmp_path / "c" / f"{n}.png").read_bytes() == (tmp_path / "n" / f"{n}.png").read_bytes()


def test_custom_parser_decodes_the_raw_tensor_like_nvinfer(short_clips, reference_counts, capsys):
    """YOLOX's raw output, read through get_nvds_LayerInfo and ctypes and decoded in Python, gives the same
    objects per class in every frame as nvinfer's own parser (reference_counts)."""
    compat = _run("deepstream-custom-parser/deepstream_custom_parser.py", [short_clips[0]], capsys)
    native = _run("deepstream-custom-parser/deepstream_custom_parser_native.py", [short_clips[0]], capsys)
    expected = {(0, f): c for f, c in reference_counts.items()}
    assert _counts(compat) == expected
    assert _counts(native) == expected
