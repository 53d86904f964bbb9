"""nvdsanalytics: ROI filtering, overcrowding, line crossing and direction detection on tracked objects.

>>> from vistream.analytics import AnalyticsCore, get_analytics_frame_meta
>>> core = AnalyticsCore("config_nvdsanalytics.txt")  # doctest: +SKIP
>>> core.process(batch_meta)  # doctest: +SKIP
"""

from vistream.analytics.config import (
    AnalyticsConfig,
    AnalyticsConfigError,
    CrossingLine,
    Direction,
    DirectionDetection,
    LineCrossing,
    Mode,
    Overcrowding,
    Roi,
    RoiFiltering,
    StreamRules,
    load_analytics_config,
    parse_analytics_text,
)
from vistream.analytics.core import AnalyticsCore
from vistream.analytics.keyfile import ConfigWarning, KeyFile, KeyFileError
from vistream.analytics.meta import (
    AnalyticsFrameMeta,
    AnalyticsObjInfo,
    get_analytics_frame_meta,
    get_analytics_obj_info,
)

__all__ = [
    "AnalyticsConfig", "AnalyticsConfigError", "AnalyticsCore", "AnalyticsFrameMeta", "AnalyticsObjInfo",
    "ConfigWarning", "CrossingLine", "Direction", "DirectionDetection", "KeyFile", "KeyFileError", "LineCrossing",
    "Mode", "Overcrowding", "Roi", "RoiFiltering", "StreamRules", "get_analytics_frame_meta",
    "get_analytics_obj_info", "load_analytics_config", "parse_analytics_text",
]
