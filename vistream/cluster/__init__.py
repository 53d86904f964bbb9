"""Scale-out on a Ray cluster: the sources of a deepstream-app config spread over pipeline workers (Ray actors),
with fail-over of dead workers' sources and aggregated metrics. See docs/cluster.md.

>>> from vistream.cluster import run_app_on_ray
>>> run_app_on_ray("samples/configs/deepstream-app/source4_tiled_tracker_sgie.txt", "auto")  # doctest: +SKIP
"""

from vistream.cluster.manager import ClusterManager, config_sources, run_app_on_ray
from vistream.cluster.worker import PipelineWorker, chain_end

__all__ = ["ClusterManager", "PipelineWorker", "chain_end", "config_sources", "run_app_on_ray"]
