"""Multi-object tracking (DeepStream ``nvtracker``): IOU, SORT, ByteTrack and re-ID trackers, MOT evaluation.

>>> from vistream.track import TrackerCore
>>> core = TrackerCore("samples/configs/tracker/config_tracker_NvSORT.yml")  # doctest: +SKIP
>>> core.process(batch_meta)  # doctest: +SKIP
"""

from vistream.track.algorithms import (
    TRACKERS,
    ByteTracker,
    DeepSORTTracker,
    IOUTracker,
    SORTTracker,
    StreamTracker,
    make_tracker,
)
from vistream.track.config import (
    ALGORITHMS,
    LL_LIB_FILES,
    TrackerConfig,
    TrackerConfigError,
    load_tracker_config,
    parse_tracker_config,
    resolve_ll_lib_file,
)
from vistream.track.core import TRACKER_PROPERTIES, TrackerCore
from vistream.track.pastframe import (
    NvDsPastFrameObj,
    NvDsPastFrameObjBatch,
    NvDsPastFrameObjList,
    NvDsPastFrameObjStream,
)

__all__ = [
    "ALGORITHMS", "LL_LIB_FILES", "TRACKERS", "TRACKER_PROPERTIES", "ByteTracker", "DeepSORTTracker", "IOUTracker",
    "NvDsPastFrameObj", "NvDsPastFrameObjBatch", "NvDsPastFrameObjList", "NvDsPastFrameObjStream", "SORTTracker",
    "StreamTracker", "TrackerConfig", "TrackerConfigError", "TrackerCore", "load_tracker_config",
    "make_tracker", "parse_tracker_config", "resolve_ll_lib_file",
]
