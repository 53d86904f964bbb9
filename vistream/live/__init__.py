"""Live sources and outputs as libraries.

- :mod:`vistream.live.rtsp_server`: ``RtspServer``, GStreamer's gst-rtsp-server in a helper process.
- :mod:`vistream.live.encoder`: ``LiveEncoder``, frames to Annex B H.264/H.265 access units.
- :mod:`vistream.live.smartrecord`: ``SmartRecorder``, DeepStream's smart record (cache + stream-copy files).
- :mod:`vistream.live.manager`: ``PipelineManager``, a pipeline with runtime add/remove of streams, statistics,
  events, a JPEG view and smart record control (what ``vistream serve`` exposes).

The elements built on them live in :mod:`vistream.elements.rtsp` and :mod:`vistream.elements.smartrecord`.
"""
