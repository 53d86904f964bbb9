"""nvv4l2h264enc / nvv4l2h265enc: NVENC through FFmpeg where the GPU has it, libx264/libx265 otherwise, with a
warning that says why; the NVENC options they set exist in this FFmpeg's encoders."""

from __future__ import annotations

import av
import pytest

from vistream import MessageType, make_element, parse_launch
from vistream.elements import encode


def _nvenc_option_names(codec: str) -> dict[str, set[str] | None]:
    try:
        ctx = av.CodecContext.create(codec, "w")
    except (av.error.FFmpegError, ValueError):
        pytest.skip(f"this FFmpeg build has no {codec}")
    opts = {}
    for o in ctx.supported_options.generic + ctx.supported_options.private:
        opts[o.name] = {c.name for c in o.choices} if o.choices else None
    return opts


@pytest.mark.parametrize("factory", ["nvv4l2h264enc", "nvv4l2h265enc"])
@pytest.mark.parametrize("props", [
    {},
    {"preset-level": 4, "control-rate": 0, "maxbitrate": 8000000, "tuning-info-id": 2, "profile": 4, "gpu-id": 1},
    {"preset-level": 1, "tuning-info-id": 3, "profile": 2},
])
def test_nvenc_options_exist_in_ffmpegs_encoder(factory, props):
    el = make_element(factory, **props)
    valid = _nvenc_option_names(el.NVENC)
    opts = el.nvenc_options()
    assert opts["bf"] == "0" and opts["gpu"] == str(props.get("gpu-id", 0))
    for key, value in opts.items():
        assert key in valid, f"{el.NVENC} has no option {key}"
        if valid[key] is not None and not value.lstrip("-").isdigit():
            assert value in valid[key], f"{el.NVENC} option {key}={value} (choices {sorted(valid[key])})"
    if props.get("control-rate") == 0:
        assert (opts["rc"], opts["maxrate"]) == ("vbr", "8000000")
    else:
        assert opts["rc"] == "cbr" and "maxrate" not in opts


def _encode(traffic_clip, tmp_path, enc: str):
    out = tmp_path / "out.mkv"
    p = parse_launch(f"filesrc location={traffic_clip} ! qtdemux ! nvv4l2decoder ! {enc} name=enc ! matroskamux ! "
                     f"filesink location={out}")
    warnings = []
    p.bus.add_watch(lambda bus, m: warnings.append(str(m.structure["error"])) if m.type == MessageType.WARNING else None)
    p.run(timeout=180)
    with av.open(str(out)) as c:
        codec, frames = c.streams.video[0].codec_context.name, sum(1 for _ in c.decode(video=0))
    return p.get_by_name("enc").encoder_name, warnings, codec, frames


def test_without_a_gpu_the_cpu_encoder_runs_silently(traffic_clip, tmp_path, monkeypatch):
    monkeypatch.setattr(encode, "nvenc_usable_here", lambda: False)
    assert _encode(traffic_clip, tmp_path, "nvv4l2h264enc") == ("libx264", [], "h264", 48)


@pytest.mark.parametrize(("enc", "cpu", "codec"), [("nvv4l2h264enc", "libx264", "h264"),
                                                    ("nvv4l2h265enc", "libx265", "hevc")])
def test_nvenc_that_cannot_open_falls_back_with_a_warning(traffic_clip, tmp_path, monkeypatch, enc, cpu, codec):
    """A GPU is taken to be present, but NVENC cannot open (no such GPU here: gpu-id=99): the CPU encoder
    writes every frame and a warning on the bus names NVENC and what runs instead."""
    monkeypatch.setattr(encode, "nvenc_usable_here", lambda: True)
    name, warnings, got_codec, frames = _encode(traffic_clip, tmp_path, f"{enc} gpu-id=99")
    assert (name, got_codec, frames) == (cpu, codec, 48)
    assert len(warnings) == 1 and "NVENC is not usable here" in warnings[0] and cpu in warnings[0], warnings
    assert warnings[0].startswith("enc: ") and "_nvenc for 640x360" in warnings[0]  # element and encoder named


@pytest.mark.parametrize(("enc", "cpu"), [("openh264enc", "libx264"), ("x265enc", "libx265")])
def test_software_names_never_try_nvenc(traffic_clip, tmp_path, monkeypatch, enc, cpu):
    monkeypatch.setattr(encode, "nvenc_usable_here", lambda: True)
    name, warnings, _, frames = _encode(traffic_clip, tmp_path, enc)
    assert (name, warnings, frames) == (cpu, [], 48)
