"""Make the 1080p30 H.264 benchmark input by upscaling a shipped clip (FFmpeg through PyAV, libx264).

H100/H200 GPUs have NVDEC but no NVENC engine, so the input is encoded on the CPU with libx264 (a few seconds
on the GPU machine itself when PyAV is installed there); it is a derived input, never committed.

    python bench/gpu/make_input.py OUT.mp4 [--frames 300]
"""

from __future__ import annotations

import argparse
from fractions import Fraction

import av


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--src", default="samples/videos/traffic_overhead_640x360.mp4")
    ap.add_argument("--frames", type=int, default=300)
    a = ap.parse_args()
    src = av.open(a.src)
    out = av.open(a.out, "w")
    st = out.add_stream("libx264", rate=30)
    st.width, st.height, st.pix_fmt = 1920, 1080, "yuv420p"
    st.time_base = Fraction(1, 30)
    # a typical camera stream: ~4 Mbit/s, 1 s GOP, no B-frames
    st.options = {"preset": "veryfast", "bf": "0", "g": "30", "b": "4M", "maxrate": "5M", "bufsize": "8M"}
    n = 0
    while n < a.frames:
        src.seek(0)
        for frame in src.decode(video=0):
            img = frame.reformat(width=1920, height=1080, format="yuv420p", interpolation="BILINEAR")
            img.pts = n
            img.time_base = Fraction(1, 30)
            for p in st.encode(img):
                out.mux(p)
            n += 1
            if n >= a.frames:
                break
    for p in st.encode():
        out.mux(p)
    out.close()
    print(f"{a.out}: {n} frames 1920x1080 @30")


if __name__ == "__main__":
    main()
