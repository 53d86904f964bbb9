#!/usr/bin/env python3
"""A custom element written in Python, used in a pipeline next to the built-in ``dsexample``.

``objectcounter`` counts the objects of each label in every frame and writes the counts on the frame through a
DisplayMeta, which ``nvdsosd`` then draws. The pipeline detects objects with YOLOX (nvinfer), names each
object's dominant colour (``dsexample full-frame=0``), counts them, draws everything and saves JPEG snapshots:

    python samples/python/dsexample_element.py samples/videos/traffic_overhead_640x360.mp4 --out snaps --every 30

Writing an element takes four steps: subclass ``Element``; declare ``FACTORY``, pad templates and typed
``PROPERTIES`` (they drive the launch parser and ``vistream inspect``); implement ``chain(pad, buffer)`` working
on ``buffer.batch_meta`` and ``buffer.data[frame_meta.batch_id]``; decorate the class with ``@register``.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import vistream.elements.dsexample  # noqa: F401  (registers dsexample)
import vistream.elements.osd  # noqa: F401  (registers nvdsosd)
import vistream.elements.snapshot  # noqa: F401  (registers jpegenc and multifilesink)
from vistream import Element, FlowReturn, Property, parse_launch, register
from vistream.core.element import SINK_VIDEO, SRC_VIDEO
from vistream.meta import ColorParams, DisplayMeta, FontParams, TextParams

ROOT = Path(__file__).resolve().parents[2]


@register
class ObjectCounter(Element):
    """Counts objects per label in each frame and overlays the counts (top-left corner)."""

    FACTORY = "objectcounter"
    PAD_TEMPLATES = (SINK_VIDEO, SRC_VIDEO)
    PROPERTIES = (
        Property.uint("font-size", 14, "Size of the overlay text", 6, 72),
        Property.float("min-confidence", 0.0, "Ignore objects below this confidence", 0.0, 1.0),
    )

    def __init__(self, name=None, _factory=None, **props):
        super().__init__(name, _factory, **props)
        self.totals: Counter[str] = Counter()  # label -> objects seen over the whole stream

    def chain(self, pad, buffer) -> FlowReturn:
        if buffer.batch_meta is None:
            return self.push(buffer)
        for frame_meta in buffer.batch_meta.frame_meta_list:
            counts = Counter(o.obj_label or str(o.class_id) for o in frame_meta.obj_meta_list
                             if o.confidence >= self.props.min_confidence and o.obj_label != "frame")
            self.totals.update(counts)
            text = "  ".join(f"{label}: {n}" for label, n in sorted(counts.items())) or "no objects"
            frame_meta.add_display_meta(DisplayMeta(text_params=[TextParams(
                f"source {frame_meta.source_id} frame {frame_meta.frame_num}  {text}", 8, 8,
                FontParams("Sans", self.props.font_size, ColorParams(1, 1, 1, 1)), 1, ColorParams(0, 0, 0, 0.6))]))
        return self.push(buffer)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?", default=str(ROOT / "samples/videos/traffic_overhead_640x360.mp4"))
    ap.add_argument("--out", default="snapshots", help="folder for the JPEG snapshots")
    ap.add_argument("--every", type=int, default=1, help="save every N-th frame")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = ROOT / "samples/configs/config_infer_primary_yoloX.txt"
    pipeline = parse_launch(
        f'filesrc location="{args.video}" ! qtdemux ! h264parse ! nvv4l2decoder ! m.sink_0 '
        "nvstreammux name=m batch-size=1 width=640 height=360 ! "
        f'nvinfer config-file-path="{config}" ! dsexample full-frame=0 processing-width=32 processing-height=32 ! '
        "objectcounter name=counter ! nvdsosd ! "
        "jpegenc quality=90 ! "
        f'multifilesink name=snap location="{out}/frame_%05d.jpg"')
    every = max(1, args.every)
    snap = pipeline.get_by_name("snap")
    from vistream import PadProbeReturn, PadProbeType

    count = [0]

    def keep_every_nth(pad, info, _):
        count[0] += 1
        return PadProbeReturn.OK if (count[0] - 1) % every == 0 else PadProbeReturn.DROP

    snap.sinkpad.add_probe(PadProbeType.BUFFER, keep_every_nth)
    pipeline.run()
    totals = pipeline.get_by_name("counter").totals
    print(f"wrote {snap.files_written} snapshots to {out}/; objects seen: "
          + ", ".join(f"{k} {v}" for k, v in totals.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
