"""The analytics results attached as user meta, with the field names of DeepStream's ``nvds_analytics_meta.h``.

* :class:`AnalyticsFrameMeta` (``NvDsAnalyticsFrameMeta``) is a :class:`~vistream.meta.UserMeta` of type
  :attr:`MetaType.ANALYTICS_FRAME` in ``frame_meta.frame_user_meta_list``.
* :class:`AnalyticsObjInfo` (``NvDsAnalyticsObjInfo``) is a :class:`~vistream.meta.UserMeta` of type
  :attr:`MetaType.ANALYTICS_OBJ` in ``obj_meta.obj_user_meta_list``.

Reading them as in the DeepStream Python samples::

    for um in frame_meta.frame_user_meta_list:
        if um.base_meta.meta_type == MetaType.ANALYTICS_FRAME:
            print(um.user_meta_data.objLCCumCnt)   # {'Entry': 3, 'Exit': 1}
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vistream.meta import BaseMeta, FrameMeta, MetaType, ObjectMeta, UserMeta


@dataclass(slots=True)
class AnalyticsFrameMeta:
    """Frame-level analytics output (``NvDsAnalyticsFrameMeta``).

    * ``objInROIcnt``: ROI-filtering label → number of (class-filtered) objects inside it in this frame.
    * ``objLCCurrCnt``: line label → crossings in this frame.
    * ``objLCCumCnt``: line label → crossings since the start of the stream (or :meth:`reset_source`).
    * ``ocStatus``: overcrowding label → True when at least ``object-threshold`` objects are inside.
    * ``objCnt``: class id → number of objects of that class in the frame (every object, no ROI filter).
    * ``unique_id``: the ``unique-id`` of the analytics component that produced this.
    * ``objInOCcnt`` (vistream addition): overcrowding label → objects inside it.
    """

    objInROIcnt: dict[str, int] = field(default_factory=dict)  # noqa: N815 - pyds names
    objLCCurrCnt: dict[str, int] = field(default_factory=dict)  # noqa: N815
    objLCCumCnt: dict[str, int] = field(default_factory=dict)  # noqa: N815
    ocStatus: dict[str, bool] = field(default_factory=dict)  # noqa: N815
    objCnt: dict[int, int] = field(default_factory=dict)  # noqa: N815
    unique_id: int = 0
    objInOCcnt: dict[str, int] = field(default_factory=dict)  # noqa: N815


@dataclass(slots=True)
class AnalyticsObjInfo:
    """Object-level analytics output (``NvDsAnalyticsObjInfo``).

    * ``roiStatus``: labels of the ROI-filtering ROIs the object is in (outside of, with ``inverse-roi=1``).
    * ``ocStatus``: labels of the overcrowding ROIs the object is in.
    * ``lcStatus``: labels of the lines the object crossed in this frame.
    * ``dirStatus``: ``"DIR:<label>"`` of the configured direction the object moves in, or ``""``.
    * ``unique_id``: the ``unique-id`` of the analytics component.
    """

    roiStatus: list[str] = field(default_factory=list)  # noqa: N815 - pyds names
    ocStatus: list[str] = field(default_factory=list)  # noqa: N815
    lcStatus: list[str] = field(default_factory=list)  # noqa: N815
    dirStatus: str = ""  # noqa: N815
    unique_id: int = 0


def frame_user_meta(data: AnalyticsFrameMeta) -> UserMeta:
    return UserMeta(user_meta_data=data, base_meta=BaseMeta(MetaType.ANALYTICS_FRAME))


def obj_user_meta(data: AnalyticsObjInfo) -> UserMeta:
    return UserMeta(user_meta_data=data, base_meta=BaseMeta(MetaType.ANALYTICS_OBJ))


def get_analytics_frame_meta(frame_meta: FrameMeta, unique_id: int | None = None) -> AnalyticsFrameMeta | None:
    """The frame's :class:`AnalyticsFrameMeta` (of component ``unique_id`` when given), or None."""
    for um in frame_meta.frame_user_meta_list:
        if um.base_meta.meta_type == MetaType.ANALYTICS_FRAME and (
                unique_id is None or um.user_meta_data.unique_id == unique_id):
            return um.user_meta_data
    return None


def get_analytics_obj_info(obj_meta: ObjectMeta, unique_id: int | None = None) -> AnalyticsObjInfo | None:
    """The object's :class:`AnalyticsObjInfo` (of component ``unique_id`` when given), or None."""
    for um in obj_meta.obj_user_meta_list:
        if um.base_meta.meta_type == MetaType.ANALYTICS_OBJ and (
                unique_id is None or um.user_meta_data.unique_id == unique_id):
            return um.user_meta_data
    return None
