"""KITTI-format dumps of detections and tracks per frame, as deepstream-app writes them."""

from __future__ import annotations

from pathlib import Path

from vistream.core.pad import Pad, PadProbeReturn, PadProbeType
from vistream.meta import UNTRACKED_OBJECT_ID, get_batch_meta


class KittiWriter:
    """Writes one text file per frame, ``<dir>/<app>_<source:03d>_<frame:06d>.txt``, a line per object:
    ``label 0.0 0 0.0 left top right bottom 0.0 0.0 0.0 0.0 0.0 0.0 0.0 confidence`` (detections), or with
    the track id after the label (tracks)."""

    def __init__(self, directory: str | Path, tracks: bool = False, app_index: int = 0):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.tracks = tracks
        self.app_index = app_index
        self.files = 0

    def attach(self, pad: Pad) -> None:
        pad.add_probe(PadProbeType.BUFFER, self._probe)

    def _probe(self, pad, info, _):
        bm = get_batch_meta(info.get_buffer())
        if bm is not None:
            for fm in bm.frame_meta_list:
                self.write_frame(fm)
        return PadProbeReturn.OK

    def write_frame(self, fm) -> Path:
        path = self.dir / f"{self.app_index:02d}_{fm.source_id:03d}_{fm.frame_num:06d}.txt"
        lines = []
        for o in fm.obj_meta_list:
            r = o.rect_params
            label = (o.obj_label or str(o.class_id)).replace(" ", "_")
            box = f"{r.left:.6f} {r.top:.6f} {r.left + r.width:.6f} {r.top + r.height:.6f}"
            if self.tracks:
                if o.object_id == UNTRACKED_OBJECT_ID:
                    continue
                lines.append(f"{label} {o.object_id} 0.0 0 0.0 {box} 0.0 0.0 0.0 0.0 0.0 0.0 0.0 "
                             f"{o.tracker_confidence:.6f}\n")
            else:
                lines.append(f"{label} 0.0 0 0.0 {box} 0.0 0.0 0.0 0.0 0.0 0.0 0.0 {o.confidence:.6f}\n")
        path.write_text("".join(lines))
        self.files += 1
        return path
