"""Helpers for the analytics tests: frames with objects placed by their bottom-centre point."""

from __future__ import annotations

from vistream.analytics import AnalyticsCore
from vistream.meta import BatchMeta, ObjectMeta, make_object, new_frame_meta

BOX_W, BOX_H = 20.0, 40.0


def obj_at(x: float, y: float, object_id: int | None = None, class_id: int = 0) -> ObjectMeta:
    """An object whose bottom centre is ``(x, y)``."""
    o = make_object(x - BOX_W / 2, y - BOX_H, BOX_W, BOX_H, class_id=class_id)
    if object_id is not None:
        o.object_id = object_id
    return o


def run_frame(core: AnalyticsCore, objs: list[ObjectMeta], source_id: int = 0, frame_num: int = 0,
              width: int = 1000, height: int = 1000):
    fm = new_frame_meta(source_id, frame_num, 0, width, height)
    for o in objs:
        fm.add_obj_meta(o)
    core.process(BatchMeta(max_frames_in_batch=1, frame_meta_list=[fm]))
    return fm


def run_track(core: AnalyticsCore, points: list[tuple[float, float] | None], object_id: int = 1,
              class_id: int = 0, source_id: int = 0):
    """Feed one object along ``points`` (None: the object is missing in that frame); returns the per-frame
    ``(obj_info or None, frame_meta)`` list."""
    from vistream.analytics import get_analytics_obj_info

    out = []
    for f, p in enumerate(points):
        objs = [] if p is None else [obj_at(p[0], p[1], object_id, class_id)]
        fm = run_frame(core, objs, source_id, f)
        out.append((get_analytics_obj_info(objs[0]) if objs else None, fm))
    return out


def core_from(text: str, **kwargs) -> AnalyticsCore:
    """An :class:`AnalyticsCore` for config ``text`` (dedented); ``[property]`` defaults to osd-mode=0."""
    import textwrap

    from vistream.analytics import parse_analytics_text

    body = textwrap.dedent(text).strip("\n")
    if "[property]" not in body:
        body = "[property]\nenable=1\nosd-mode=0\n" + body
    return AnalyticsCore(parse_analytics_text(body + "\n", "test.txt"), **kwargs)
