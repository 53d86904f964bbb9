"""nvmultistreamtiler: composites the frames of a batch into one 2-D grid, ordered by source id."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from vistream.core.buffer import Buffer, FlowReturn
from vistream.core.caps import Caps
from vistream.core.element import Element, register
from vistream.core.errors import ElementError
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.convert import COMPUTE_HW, CV_INTERPOLATION, INTERPOLATION_METHODS, remap_frame_meta
from vistream.elements.draw import PACKED_FORMATS
from vistream.elements.video import buffer_format, convert_color, download_buffer, frame_size, is_gpu_data
from vistream.meta import BatchMeta, FrameMeta


class Tiler:
    """Composes a batch into one ``width x height`` frame: source ``s`` goes to the tile at row
    ``s // columns``, column ``s % columns`` (each tile ``width // columns`` x ``height // rows``, the frame
    stretched to fill it). With ``show_source = N`` only source N is shown, scaled to the whole frame.

    API: ``Tiler(rows, columns, width, height, show_source=-1, interpolation=cv2.INTER_LINEAR)`` then
    ``composite(frames, fmt, batch_meta) -> (frame, batch_meta)``. ``frame`` is ``H x W x C`` in ``fmt``
    (planar YUV input gives RGB); the returned :class:`BatchMeta` is a copy whose frame metas all have
    ``batch_id = 0`` and whose boxes, labels, masks and display meta are in tile coordinates (clipped to the
    tile), so an OSD draws them on the mosaic. Frames of sources that have no tile (source id beyond
    ``rows * columns``, or not ``show_source``) are not drawn and their frame metas are left out. A tile whose
    source is missing from a batch keeps its last picture (black at first), as with live sources of
    different rates.

    >>> import numpy as np
    >>> from vistream.meta import BatchMeta, FrameMeta, make_object
    >>> frames = np.zeros((2, 100, 200, 3), np.uint8)
    >>> metas = [FrameMeta(source_id=1, batch_id=0), FrameMeta(source_id=0, batch_id=1)]
    >>> _ = metas[0].add_obj_meta(make_object(100, 50, 20, 10))
    >>> out, meta = Tiler(1, 2, 400, 100).composite(frames, "RGB", BatchMeta(frame_meta_list=metas))
    >>> r = meta.frame_meta_list[1].obj_meta_list[0].rect_params     # source 1: the right-hand tile
    >>> out.shape, (r.left, r.top, r.width, r.height)
    ((100, 400, 3), (300.0, 50.0, 20.0, 10.0))
    """

    def __init__(self, rows: int = 1, columns: int = 1, width: int = 1920, height: int = 1080, show_source: int = -1,
                 interpolation: int = cv2.INTER_LINEAR):
        if rows < 1 or columns < 1:
            raise ValueError(f"rows and columns must be >= 1, got {rows}x{columns}")
        if width < columns or height < rows:
            raise ValueError(f"a {width}x{height} output cannot hold {rows}x{columns} tiles")
        self.rows, self.columns = int(rows), int(columns)
        self.width, self.height = int(width), int(height)
        self.show_source = int(show_source)
        self.interpolation = interpolation
        self._canvas: np.ndarray | None = None
        self._canvas_key: tuple | None = None
        self.gpu_canvas = None  # the GPU path's canvas (a torch tensor; vistream.gpu.tiler), and its key
        self.gpu_canvas_key: tuple | None = None

    def tile_rect(self, source_id: int) -> tuple[int, int, int, int] | None:
        """``(left, top, width, height)`` of a source's tile, or None when it has none."""
        if self.show_source >= 0:
            return (0, 0, self.width, self.height) if source_id == self.show_source else None
        if not 0 <= source_id < self.rows * self.columns:
            return None
        tw, th = self.width // self.columns, self.height // self.rows
        return (source_id % self.columns) * tw, (source_id // self.columns) * th, tw, th

    def layout(self, count: int, batch_meta: BatchMeta | None) -> tuple[BatchMeta, list[tuple[FrameMeta, tuple]]]:
        """The output batch meta (no frames yet) and the frames that get a tile, by source id, with their tile
        ``(left, top, width, height)``; ``count`` frames in the buffer."""
        metas: list[FrameMeta] = list(batch_meta.frame_meta_list) if batch_meta is not None else []
        if batch_meta is None:  # an unbatched stream: the frames are tiles 0, 1, 2... in order
            metas = [FrameMeta(source_id=i, pad_index=i, batch_id=i) for i in range(count)]
        out_meta = BatchMeta(max_frames_in_batch=batch_meta.max_frames_in_batch if batch_meta else count,
                             batch_user_meta_list=list(batch_meta.batch_user_meta_list) if batch_meta else [])
        shown = []
        for fm in sorted(metas, key=lambda f: f.source_id):
            rect = self.tile_rect(fm.source_id)
            if rect is None:
                continue
            if not 0 <= fm.batch_id < count:
                raise ElementError(f"frame meta batch_id {fm.batch_id} is outside the buffer's {count} frame(s)")
            shown.append((fm, rect))
        return out_meta, shown

    @staticmethod
    def tile_meta(fm: FrameMeta, frame_w: int, frame_h: int, rect: tuple[int, int, int, int]) -> FrameMeta:
        """``fm`` with its geometry moved from a ``frame_w x frame_h`` frame into its tile (``batch_id`` 0)."""
        x, y, tw, th = rect
        m = np.array([(tw / frame_w, 0, x), (0, th / frame_h, y), (0, 0, 1)], np.float64)
        return remap_frame_meta(fm, m, (x, y, x + tw, y + th), batch_id=0)

    def composite(self, frames, fmt: str, batch_meta: BatchMeta | None) -> tuple[np.ndarray, BatchMeta]:
        out_fmt = fmt if fmt in PACKED_FORMATS else "RGB"
        channels = 1 if out_fmt == "GRAY8" else len(out_fmt)
        key = (out_fmt, self.width, self.height, self.rows, self.columns, self.show_source)
        if self._canvas is None or self._canvas_key != key:
            self._canvas = np.zeros((self.height, self.width, channels), np.uint8)
            self._canvas_key = key
        canvas = self._canvas
        out_meta, shown = self.layout(len(frames), batch_meta)
        for fm, rect in shown:
            frame = frames[fm.batch_id]
            fw, fh = frame_size(frame, fmt)
            x, y, tw, th = rect
            if fmt != out_fmt:
                frame = convert_color(frame, fmt, out_fmt)
            tile = frame if (fw, fh) == (tw, th) else cv2.resize(frame, (tw, th), interpolation=self.interpolation)
            canvas[y:y + th, x:x + tw] = tile.reshape(th, tw, channels)
            if batch_meta is not None:
                out_meta.frame_meta_list.append(self.tile_meta(fm, fw, fh, rect))
        out = canvas.copy()  # downstream (OSD) draws on it; the canvas keeps the clean tiles
        return (out[:, :, 0] if out_fmt == "GRAY8" else out), out_meta


@register
class NvMultiStreamTiler(Element):
    """Composites a batched buffer into a single 2-D tiled frame (one tile per source, by ``source_id``).

    The output buffer holds one frame; its batch meta keeps every shown frame's metadata in tile
    coordinates with ``batch_id = 0``, so ``nvdsosd`` after the tiler draws on the mosaic.
    ``show-source`` may be changed while playing (click-to-enlarge in DeepStream apps).
    """

    FACTORY = "nvmultistreamtiler"
    ALIASES = ("nvtiler",)
    KLASS = "Filter/Video"
    DESCRIPTION = "Composites the frames of a batch into a 2-D tiled output"
    PAD_TEMPLATES = (PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, "video/x-raw"),
                     PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "video/x-raw"))
    PROPERTIES = (
        Property.uint("rows", 1, "Number of rows in the tiled 2D output", 1),
        Property.uint("columns", 1, "Number of columns in the tiled 2D output", 1),
        Property.uint("width", 1920, "Width of the tiled 2D output", 16),
        Property.uint("height", 1080, "Height of the tiled 2D output", 16),
        Property.int("show-source", -1, "ID of the source to be shown full size (-1 shows all sources)", -1),
        Property.uint("gpu-id", 0, "Set GPU Device ID (accepted)"),
        Property.enum("compute-hw", 0, "Compute scaling hardware (accepted; GPU batches tile on the GPU)", COMPUTE_HW),
        Property.enum("interpolation-method", 6, "Set interpolation methods", INTERPOLATION_METHODS),
        Property.uint("nvbuf-memory-type", 0, "Type of memory to be allocated (accepted)"),
    )

    def __init__(self, name=None, _factory=None, **props):
        self._lock = threading.Lock()
        self._tiler: Tiler | None = None
        super().__init__(name, _factory, **props)

    def property_changed(self, name: str, value) -> None:
        with self._lock:
            if name == "show-source" and self._tiler is not None:
                self._tiler.show_source = int(value)
            elif name in ("rows", "columns", "width", "height", "interpolation-method"):
                self._tiler = None

    def start(self) -> None:
        with self._lock:
            self._tiler = None

    def _get_tiler(self) -> Tiler:
        if self._tiler is None:
            pr = self._props
            try:
                self._tiler = Tiler(pr["rows"], pr["columns"], pr["width"], pr["height"], pr["show-source"],
                                    CV_INTERPOLATION[pr["interpolation-method"]])
            except ValueError as e:
                raise ElementError(str(e)) from None
        return self._tiler

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        caps = buffer.caps
        if caps is not None and caps.media_type != "video/x-raw":
            raise ElementError(f"nvmultistreamtiler composites raw video, got {caps.media_type}")
        fmt = buffer_format(caps)
        gpu = False
        if is_gpu_data(buffer.data):
            from vistream.gpu.tiler import gpu_tileable

            gpu = gpu_tileable(fmt)
            if not gpu:
                download_buffer(buffer)  # other formats are tiled on a host copy
                caps = buffer.caps
        with self._lock:
            if gpu:  # tiled on the GPU: the mosaic stays in GPU memory
                from vistream.gpu.tiler import composite_gpu

                frame, meta = composite_gpu(self._get_tiler(), buffer.data, fmt, buffer.batch_meta)
            else:
                frame, meta = self._get_tiler().composite(buffer.data, fmt, buffer.batch_meta)
        out_fmt = fmt if fmt in PACKED_FORMATS else "RGB"
        fields = dict(caps.fields) if caps is not None else {}
        fields.update(format=out_fmt, width=frame.shape[1], height=frame.shape[0])
        fields.pop("batch-size", None)
        out_caps = Caps("video/x-raw", caps.features if caps is not None else (), **fields)
        out = Buffer(frame[None], pts=buffer.pts, duration=buffer.duration, caps=out_caps,
                     batch_meta=meta if buffer.batch_meta is not None else None, source_id=buffer.source_id,
                     frame_num=buffer.frame_num, dts=buffer.dts, flags=buffer.flags)
        out.extra.update(buffer.extra)
        return self.push(out)
