"""GPU benchmarks: NVDEC ceiling, model ceiling, end-to-end streams in real time, latency, launch strings.

    python bench/gpu/bench.py --clip CLIP_1080P.mp4 --json results.json \
        [--parts decode,model,e2e,latency,elements,osd] [--procs 8] [--dec-threads 4] ...

1. ``decode``: aggregate NVDEC decode FPS of N copies of the 1080p30 clip (one session and thread each, a Python
   call per packet), in one process and in several (``decode_procs`` alone runs only the latter);
   ``decode_threaded``: the same with PyNvVideoCodec's ``ThreadedDecoder`` (demux and decode in C++ threads,
   ``--threaded-streams STREAMSxPROCESSES,...``; ``--decode-copy``: each frame copied out of the decoder's ring
   buffer, as the pipeline does).
2. ``model``: YOLOX-Nano FP16 (backend=torch, CUDA graphs) at batch 1..64 with the GPU pre-processing of 1080p
   RGB frames, YOLOX decoded on the GPU and the candidates downloaded; A/B with the raw output downloaded; the
   model alone.
3. ``e2e``: N streams decode (NVDEC) -> mux (NV12 -> RGB 1080p batch on GPU) -> nvinfer (GpuInferEngine) ->
   tracker (IOU) -> sink, in one process (``--e2e-streams``) and in ``--procs`` worker processes
   (``--procs-streams``, ``--paced``; through ``vistream.app.workers.run_sharded``). Unpaced: aggregate FPS.
   Paced at 30 FPS per stream: is every stream at >= 30 FPS and does the latency stay flat? ``--dec-threads K``:
   K threads per process drive all NVDEC sessions instead of one thread per stream. ``--decoder threaded``:
   decode with ``vistream.gpu.nvdec.FileDecoder`` (PyNvVideoCodec's ``ThreadedDecoder``, what ``uridecodebin``
   does for local files). ``--mux-format rgb``: batches converted to RGB at the mux size before nvinfer (NV12
   otherwise, as nvstreammux keeps them). The worker processes take ``VISTREAM_CUDA_SYNC`` (spin, yield,
   blocking), ``VISTREAM_TORCH_FUSE=0`` (no SiLU fusion) and ``VISTREAM_GPU_SLEEP_WAIT=0`` (nvinfer waits as the
   CUDA context does instead of on a blocking event) from the environment. ``--seconds``: the counted window of
   the unpaced runs and of ``decode_threaded`` (frames still in flight when it closes are not counted).
4. ``latency``: decode -> sink per frame (p50/p99) at 8 paced streams.
5. ``elements``: the launch-string pipeline (STREAMSxPROCESSES runs, ``--elements``; sources ``filesrc ! qtdemux
   ! h264parse ! nvv4l2decoder`` or ``--elements-source uri``: ``uridecodebin``); ``osd``: 16 streams with
   tiler, nvdsosd and nvv4l2h264enc (libx264 where the GPU has no NVENC) into an MP4.

Each result carries ``machine``: NVDEC, GPU kernel time and host CPU use over the counted window
(``monitor.py``), and the end-to-end runs the CPU cores per kind of thread of each process.

Several processes on one GPU run best under the CUDA MPS daemon (``nvidia-cuda-mps-control -d``).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import queue
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vistream.gpu.infer import GpuInferEngine  # noqa: E402
from vistream.gpu.ops import nv12_to_rgb  # noqa: E402
from vistream.meta import BatchMeta, FrameMeta  # noqa: E402
from vistream.tools.threadcpu import ThreadCpu  # noqa: E402
from vistream.track import TrackerCore  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from monitor import Monitor  # noqa: E402

CONFIG = "samples/configs/config_infer_primary_yoloX.txt"
TRACKER = "samples/configs/tracker/config_tracker_IOU.yml"
PRECISION = 2  # network-mode=2: FP16


def log(*a):
    print(*a, flush=True)


# ---- 1. NVDEC ceiling ---------------------------------------------------------------------------------------

def decode_ceiling(clip: str, streams: int, frames_per_stream: int, monitor: bool = True) -> dict:
    import PyNvVideoCodec as nvc

    counts = [0] * streams
    ready = threading.Barrier(streams + 1)
    done = threading.Barrier(streams + 1)

    def worker(i):
        dmx = nvc.CreateDemuxer(filename=clip)
        dec = nvc.CreateDecoder(gpuid=0, codec=dmx.GetNvCodecId(), usedevicememory=True,
                                bWaitForSessionWarmUp=True)
        ready.wait()
        n = 0
        while n < frames_per_stream:  # demux + decode (FFmpeg's MP4 reader included, as in a pipeline)
            for p in dmx:
                n += len(dec.Decode(p))
            n += len(dec.Decode(nvc.PacketData()))
            dmx = nvc.CreateDemuxer(filename=clip)
            dec = nvc.CreateDecoder(gpuid=0, codec=dmx.GetNvCodecId(), usedevicememory=True)
        counts[i] = n
        done.wait()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(streams)]
    for t in threads:
        t.start()
    ready.wait()
    t0 = time.perf_counter()
    with Monitor() if monitor else contextlib.nullcontext() as mon:
        done.wait()
    dt = time.perf_counter() - t0
    total = sum(counts)
    res = {"streams": streams, "frames": total, "seconds": round(dt, 3), "fps": round(total / dt, 1),
           "fps_per_stream": round(total / dt / streams, 1)}
    if mon is not None:
        res["machine"] = mon.result
    return res


def _decode_proc(args):
    clip, streams, frames, q, k = args
    q.put(decode_ceiling(clip, streams, frames, monitor=k == 0))  # one process watches the machine


def _in_processes(target, clip: str, streams: int, procs: int, arg) -> list[dict]:
    """``target((clip, streams // procs, arg, queue, k))`` in ``procs`` spawned processes started together
    (separate CUDA contexts, no shared interpreter); their results."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    ps = [ctx.Process(target=target, args=((clip, streams // procs, arg, q, k),)) for k in range(procs)]
    for p in ps:
        p.start()
    rs = [q.get() for _ in ps]
    for p in ps:
        p.join()
    return rs


def decode_ceiling_procs(clip: str, streams: int, procs: int, frames_per_stream: int) -> dict:
    """The same load split over ``procs`` processes."""
    rs = _in_processes(_decode_proc, clip, streams, procs, frames_per_stream)
    fps = sum(r["fps"] for r in rs)  # sessions start together (barrier per process): sum of rates
    res = {"streams": streams, "processes": procs, "fps": round(fps, 1), "fps_per_stream": round(fps / streams, 1)}
    if mons := [r["machine"] for r in rs if "machine" in r]:
        res["machine"] = mons[0]
    return res


def decode_threaded(clip: str, streams: int, seconds: float = 8.0, batch: int = 4, buffer: int = 16,
                    monitor: bool = True, copy: bool = False) -> dict:
    """NVDEC through PyNvVideoCodec's ``ThreadedDecoder``: demux and decode run in its C++ threads, Python only
    fetches batches of ``batch`` frames: the decode rate without a Python call per packet. Counted over
    ``seconds`` after a 1 s warm-up (the decoders prefetch ``buffer`` frames when they are made). ``copy``: each
    frame is copied out of the decoder's ring buffer, as a pipeline that keeps frames must (FileDecoder)."""
    import PyNvVideoCodec as nvc

    decs = [nvc.ThreadedDecoder(clip, buffer, gpu_id=0, use_device_memory=True) for _ in range(streams)]
    counts = [0] * streams
    stop = threading.Event()
    errors: list[str] = []

    def worker(i):
        d = decs[i]
        try:
            while not stop.is_set():
                frames = d.get_batch_frames(batch)
                if not frames:  # end of the clip: start it again (the decoder is reused)
                    d.reconfigure_decoder(clip)
                    continue
                if copy:
                    for fr in frames:
                        torch.from_dlpack(fr).clone()
                counts[i] += len(frames)
        except Exception as exc:  # reported, not hidden: the part's result names it
            errors.append(f"stream {i}: {exc!r}")

    threads = [threading.Thread(target=worker, args=(i,), name="decode", daemon=True) for i in range(streams)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    c0, t0 = sum(counts), time.perf_counter()
    with Monitor() if monitor else contextlib.nullcontext() as mon:
        time.sleep(seconds)
        c1, dt = sum(counts), time.perf_counter() - t0
    stop.set()
    for t in threads:
        t.join(timeout=5)
    for d in decs:
        d.end()
    res = {"streams": streams, "decoder": "ThreadedDecoder", "copy": copy, "frames": c1 - c0, "seconds": round(dt, 2),
           "fps": round((c1 - c0) / dt, 1), "fps_per_stream": round((c1 - c0) / dt / streams, 1),
           "errors": errors[:4]}
    if mon is not None:
        res["machine"] = mon.result
    log("decode (ThreadedDecoder)", res)
    return res


def _decode_threaded_proc(args):
    clip, streams, (seconds, copy), q, k = args
    q.put(decode_threaded(clip, streams, seconds, monitor=k == 0, copy=copy))


def decode_threaded_procs(clip: str, streams: int, procs: int, seconds: float = 8.0, copy: bool = False) -> dict:
    """:func:`decode_threaded` split over ``procs`` processes, started together (their windows overlap)."""
    rs = _in_processes(_decode_threaded_proc, clip, streams, procs, (seconds, copy))
    fps = sum(r["fps"] for r in rs)
    res = {"streams": streams, "processes": procs, "decoder": "ThreadedDecoder", "copy": copy, "fps": round(fps, 1),
           "fps_per_stream": round(fps / streams, 1), "errors": [e for r in rs for e in r["errors"]][:4]}
    if mons := [r["machine"] for r in rs if "machine" in r]:
        res["machine"] = mons[0]
    log(f"decode (ThreadedDecoder, {procs} processes)", res)
    return res


# ---- 2. model ceiling -----------------------------------------------------------------------------------------

def model_ceiling(frames1080: torch.Tensor, batches, iters: int = 30) -> list[dict]:
    out = []
    for b in batches:
        eng = GpuInferEngine(CONFIG, {"batch-size": b, "network-mode": PRECISION})
        x = frames1080[torch.arange(b) % frames1080.shape[0]].contiguous()
        for _ in range(3):
            eng.infer_gpu(x)
        torch.cuda.synchronize()
        times = []
        for _ in range(iters):
            t = time.perf_counter()
            eng.infer_gpu(x)  # includes pre-processing and the output download (a sync)
            times.append(time.perf_counter() - t)
        eng.gpu_decode = False  # A/B: download the whole output grid and decode it on the host
        raw = []
        for _ in range(iters):
            t = time.perf_counter()
            eng.infer_gpu(x)
            raw.append(time.perf_counter() - t)
        eng.gpu_decode = True
        from vistream.gpu.ops import preprocess

        inp = preprocess(x, eng.net_input, dtype=eng.backend.dtype)
        ev0, ev1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        mt = []
        for _ in range(iters):
            ev0.record()
            eng.backend.infer_tensor(inp)
            ev1.record()
            ev1.synchronize()
            mt.append(ev0.elapsed_time(ev1) / 1e3)
        med, mmed, rmed = statistics.median(times), statistics.median(mt), statistics.median(raw)
        out.append({"batch": b, "ms": round(med * 1e3, 2), "fps": round(b / med, 1), "model_ms": round(mmed * 1e3, 2),
                    "model_fps": round(b / mmed, 1), "raw_download_ms": round(rmed * 1e3, 2),
                    "raw_download_fps": round(b / rmed, 1)})
        log(f"model batch {b}: {med * 1e3:.2f} ms/batch (pre+infer+GPU decode+download) = {b / med:.0f} FPS; "
            f"raw output download instead: {b / rmed:.0f} FPS; model only {mmed * 1e3:.2f} ms = {b / mmed:.0f} FPS")
        if b == 32:
            out[-1]["profile"] = _profile(eng, x)
        del eng
    return out


def _profile(eng, x) -> str:
    """Top CUDA kernels of 5 pre-process + inference + download calls (torch profiler)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(5):
            eng.infer_gpu(x)
    table = prof.key_averages().table(sort_by="cuda_time_total", row_limit=12, max_name_column_width=60)
    log(table)
    return table


# ---- 3/4. end to end ------------------------------------------------------------------------------------------

class E2E:
    """decode threads -> mux thread (GPU batch) -> infer+track thread -> sink."""

    def __init__(self, clip: str, streams: int, paced: bool, seconds: float, mux_w=1920, mux_h=1080,
                 infer_batch: int = 64, dec_threads: int = 0, decoder: str = "packets", monitor: bool = False,
                 mux_format: str = "nv12"):
        self.clip, self.n, self.paced, self.seconds = clip, streams, paced, seconds
        if mux_format not in ("nv12", "rgb"):
            raise ValueError(f"mux_format must be 'nv12' or 'rgb' (got {mux_format!r})")
        # nv12: the batch stays NV12 as nvstreammux keeps it at the source size, nvinfer converts into the network
        # input; rgb: the batch is converted to RGB at the mux size first (vistream before NV12 batches)
        self.mux_format = mux_format
        self.dec_threads = dec_threads  # 0: one decode thread per stream; K: K threads driving all sessions
        if decoder not in ("packets", "threaded"):
            raise ValueError(f"decoder must be 'packets' or 'threaded' (got {decoder!r})")
        if decoder == "threaded" and dec_threads:
            raise ValueError("decoder='threaded' runs one thread per stream")
        self.decoder_kind = decoder  # packets: a Python call per packet; threaded: PyNvVideoCodec's C++ threads
        self.monitor = monitor
        self.mux_w, self.mux_h = mux_w, mux_h
        self.q = [queue.Queue(maxsize=8) for _ in range(streams)]
        self.batches = queue.Queue(maxsize=2)
        self.engine = GpuInferEngine(CONFIG, {"batch-size": min(infer_batch, streams), "network-mode": PRECISION})
        self.tracker = TrackerCore(TRACKER)
        self.lat: list[tuple[float, float]] = []  # (sink time, latency)
        self.per_stream = [0] * streams
        self.objects = 0
        self.stop = threading.Event()
        self.stage = {"mux": 0.0, "infer": 0.0, "post": 0.0, "track": 0.0}
        self.post_q = queue.Queue(maxsize=2)

    def _put(self, q, item) -> None:
        while not self.stop.is_set():  # never block forever once the run is over
            try:
                q.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def decoder(self, i):
        import PyNvVideoCodec as nvc

        dmx = nvc.CreateDemuxer(filename=self.clip)
        dec = nvc.CreateDecoder(gpuid=0, codec=dmx.GetNvCodecId(), usedevicememory=True)
        self.started.wait()
        t0 = self.t0
        k = 0
        while not self.stop.is_set():
            for p in itertools.chain(dmx, [nvc.PacketData()]):
                if self.paced:  # a live camera: packet k arrives at t0 + k/30
                    delay = t0 + k / 30.0 - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                if p.bsl:
                    k += 1
                for fr in dec.Decode(p):
                    nv12 = torch.from_dlpack(fr).clone()
                    self._put(self.q[i], (nv12, time.perf_counter()))
                if self.stop.is_set():
                    return
            dmx = nvc.CreateDemuxer(filename=self.clip)  # loop the clip
            dec = nvc.CreateDecoder(gpuid=0, codec=dmx.GetNvCodecId(), usedevicememory=True)

    def decoder_threaded(self, i):
        """Demux and decode in PyNvVideoCodec's C++ threads (``vistream.gpu.nvdec.FileDecoder``, what
        uridecodebin uses for files); this thread only copies the frames out of its ring buffer, four at a time."""
        from vistream.gpu.nvdec import FileDecoder

        dec = FileDecoder(self.clip, batch=1 if self.paced else 4)
        self.started.wait()
        t0, k = self.t0, 0
        try:
            while not self.stop.is_set():
                for nv12, _pts in dec:
                    if self.paced:  # a live camera: frame k is released at t0 + k/30 (decoded ahead, as NVDEC
                        delay = t0 + k / 30.0 - time.perf_counter()  # is far faster than 30 FPS per stream)
                        if delay > 0:
                            time.sleep(delay)
                    k += 1
                    self._put(self.q[i], (nv12, time.perf_counter()))
                    if self.stop.is_set():
                        return
                dec.restart()  # loop the clip
        finally:
            dec.close()

    def decoder_group(self, ids):
        """One thread driving the NVDEC sessions of several streams, one packet per stream in turn (paced: each
        stream's packet k is due at t0 + k/30)."""
        import PyNvVideoCodec as nvc

        def open_stream():
            dmx = nvc.CreateDemuxer(filename=self.clip)
            return dmx, iter(itertools.chain(dmx, [nvc.PacketData()])), nvc.CreateDecoder(
                gpuid=0, codec=dmx.GetNvCodecId(), usedevicememory=True)

        st = {i: list(open_stream()) + [0] for i in ids}  # demuxer, packet iterator, decoder, packets sent
        self.started.wait()
        t0 = self.t0
        while not self.stop.is_set():
            now = time.perf_counter()
            busy = False
            next_due = now + 0.05
            for i in ids:
                s = st[i]
                if self.paced:
                    due = t0 + s[3] / 30.0
                    if due > now:
                        next_due = min(next_due, due)
                        continue
                p = next(s[1], None)
                if p is None:  # loop the clip
                    st[i] = s = list(open_stream()) + [s[3]]
                    continue
                busy = True
                if p.bsl:
                    s[3] += 1
                for fr in s[2].Decode(p):
                    self._put(self.q[i], (torch.from_dlpack(fr).clone(), time.perf_counter()))
            if not busy:
                time.sleep(max(0.0, next_due - time.perf_counter()))

    def mux(self):
        n = self.n
        fnum = [0] * n
        while not self.stop.is_set():
            frames, metas, stamps = [], [], []
            for i in range(n):  # one frame of every stream per batch (DeepStream batch-size = sources)
                try:
                    nv12, ts = self.q[i].get(timeout=0.5)
                except queue.Empty:
                    continue
                frames.append(nv12)
                stamps.append(ts)
                metas.append(FrameMeta(source_id=i, batch_id=len(metas), pad_index=i, frame_num=fnum[i],
                                       source_frame_width=1920, source_frame_height=1080,
                                       pipeline_width=self.mux_w, pipeline_height=self.mux_h))
                fnum[i] += 1
            if not frames:
                continue
            t = time.perf_counter()
            if self.mux_format == "nv12":  # the decoded frames are at the mux size already (1080p)
                rgb = torch.stack(frames)
            else:
                rgb = nv12_to_rgb(torch.stack(frames), self.mux_w, self.mux_h)
            self.stage["mux"] += time.perf_counter() - t
            self._put(self.batches, (rgb, BatchMeta(max_frames_in_batch=n, frame_meta_list=metas), stamps))

    def infer(self):
        """GPU part: pre-processing, model, output download (the GIL is released while the GPU works)."""
        while not self.stop.is_set() or not self.batches.empty():
            try:
                rgb, bm, stamps = self.batches.get(timeout=0.5)
            except queue.Empty:
                continue
            t = time.perf_counter()
            outputs, transforms = self.engine.infer_gpu(rgb)
            self.stage["infer"] += time.perf_counter() - t
            self._put(self.post_q, (outputs, transforms, bm, stamps))

    def post(self):
        """Host part, overlapped with the next batch's GPU part: decode outputs, metadata, tracker, sink."""
        while not self.stop.is_set() or not self.post_q.empty():
            try:
                outputs, transforms, bm, stamps = self.post_q.get(timeout=0.5)
            except queue.Empty:
                continue
            t = time.perf_counter()
            self.engine.attach_outputs(bm.frame_meta_list, outputs, transforms)
            t2 = time.perf_counter()
            self.tracker.process(bm)
            t3 = time.perf_counter()
            self.stage["post"] += t2 - t
            self.stage["track"] += t3 - t2
            now = time.perf_counter()
            if now - self.t0 > self.warmup and now <= self.t_end:  # frames sunk within the counted window
                for fm, ts in zip(bm.frame_meta_list, stamps, strict=True):
                    self.per_stream[fm.source_id] += 1
                    self.objects += len(fm.obj_meta_list)
                    self.lat.append((now - self.t0, now - ts))

    def run(self, warmup: float = 3.0, ready=None, keep_latencies: bool = False) -> dict:
        """``ready()``: called once set up (graphs captured, sessions opened), before the clock starts."""
        self.warmup, self.t_end = warmup, float("inf")
        b = 1
        while b <= 1 << (min(64, self.n) - 1).bit_length():  # capture the CUDA graphs before the streams start, as DeepStream
            shape = (b, self.mux_h * 3 // 2, self.mux_w) if self.mux_format == "nv12" else (b, self.mux_h, self.mux_w, 3)
            self.engine.infer_gpu(torch.zeros(shape, dtype=torch.uint8, device="cuda"))
            b *= 2  # builds its engines before PLAYING
        self.started = threading.Event()
        if self.dec_threads:
            groups = [list(range(k, self.n, self.dec_threads)) for k in range(min(self.dec_threads, self.n))]
            threads = [threading.Thread(target=self.decoder_group, args=(g,), name="decode", daemon=True)
                       for g in groups]
        else:
            fn = self.decoder_threaded if self.decoder_kind == "threaded" else self.decoder
            threads = [threading.Thread(target=fn, args=(i,), name="decode", daemon=True) for i in range(self.n)]
        threads += [threading.Thread(target=f, name=f.__name__, daemon=True) for f in (self.mux, self.infer, self.post)]
        for t in threads:
            t.start()
        time.sleep(1.0 + 0.02 * self.n)  # decoder sessions start
        if ready is not None:
            ready()
        self.t0 = time.perf_counter()
        self.started.set()
        time.sleep(warmup)
        cpu = ThreadCpu(interval=0.5).start()  # CPU seconds per thread name over the counted window
        with Monitor() if self.monitor else contextlib.nullcontext() as mon:
            time.sleep(self.seconds)
            self.t_end = time.perf_counter()  # the batches still in flight when the run stops are not counted
        threads_cpu = cpu.stop()
        self.stop.set()
        deadline = time.perf_counter() + 10
        for t in threads:
            t.join(timeout=max(0.0, deadline - time.perf_counter()))
        span = self.seconds
        lat = np.array([v for _, v in self.lat]) * 1e3 if self.lat else np.zeros(1)
        tl = np.array([t for t, _ in self.lat]) if self.lat else np.zeros(1)
        third = (tl.max() - tl.min()) / 3 if len(tl) > 1 else 0
        early = lat[tl < tl.min() + third] if third else lat
        late = lat[tl > tl.max() - third] if third else lat
        fps = np.array(self.per_stream) / span
        res = {"streams": self.n, "paced": self.paced, "seconds": span, "fps_total": round(float(fps.sum()), 1),
               "fps_min_stream": round(float(fps.min()), 1), "fps_mean_stream": round(float(fps.mean()), 1),
               "latency_ms_p50": round(float(np.percentile(lat, 50)), 1),
               "latency_ms_p99": round(float(np.percentile(lat, 99)), 1),
               "latency_ms_p99_first_third": round(float(np.percentile(early, 99)), 1),
               "latency_ms_p99_last_third": round(float(np.percentile(late, 99)), 1),
               "objects_per_frame": round(self.objects / max(1, sum(self.per_stream)), 2),
               "stage_seconds": {k: round(v, 2) for k, v in self.stage.items()},
               "dec_threads": self.dec_threads or self.n, "gpu_decode": self.engine.gpu_decode,
               "decoder": self.decoder_kind, "mux_format": self.mux_format,
               # cores each kind of thread kept busy (decode: all decoder threads together)
               "thread_cores": {t.name: round(t.cpu_s / self.seconds, 2) for t in threads_cpu[:8]},
               "process_cores": round(sum(t.cpu_s for t in threads_cpu) / self.seconds, 2)}
        if mon is not None:
            res["machine"] = mon.result
        if keep_latencies:
            res["_lat"] = [(round(t, 3), round(v * 1e3, 2)) for t, v in self.lat]
            res["_per_stream"] = list(self.per_stream)
        log(f"e2e {'paced' if self.paced else 'unpaced'} {self.n} streams: {res}")
        return res


def _e2e_target(ids, uris, counter, paced, seconds, dec_threads, decoder="packets", mux_format="nv12"):
    """Worker process of :func:`e2e_procs`: an :class:`E2E` over this process's share of the streams (the
    process with stream 0 also watches the machine)."""
    e = E2E(uris[0], len(ids), paced=paced, seconds=seconds, dec_threads=dec_threads, decoder=decoder,
            monitor=ids[0] == 0, mux_format=mux_format)
    return e.run(ready=counter.ready, keep_latencies=True)


def e2e_procs(clip: str, streams: int, procs: int, paced: bool, seconds: float, dec_threads: int = 0,
              decoder: str = "packets", mux_format: str = "nv12") -> dict:
    """The end-to-end pipeline over ``procs`` worker processes (``vistream.app.workers.run_sharded``: the
    sharding behind ``vistream app --workers``), each with its own streams, CUDA context and interpreter."""
    from vistream.app.workers import run_sharded

    run = run_sharded(_e2e_target, [clip] * streams, procs, args=(paced, seconds, dec_threads, decoder, mux_format),
                      interval=0, sync_start=True, timeout=seconds + 240)
    if run.errors:
        raise RuntimeError(f"e2e workers failed: {run.errors}")
    rs = [run.results[k] for k in sorted(run.results)]
    lat = [v for r in rs for _, v in r["_lat"]] or [0.0]
    tl = [t for r in rs for t, _ in r["_lat"]] or [0.0]
    lat_a, tl_a = np.array(lat), np.array(tl)
    third = (tl_a.max() - tl_a.min()) / 3
    per = [n / seconds for r in rs for n in r["_per_stream"]]
    res = {"streams": streams, "processes": len(rs), "paced": paced, "seconds": seconds,
           "fps_total": round(sum(per), 1), "fps_min_stream": round(min(per), 1),
           "fps_mean_stream": round(float(np.mean(per)), 1),
           "latency_ms_p50": round(float(np.percentile(lat_a, 50)), 1),
           "latency_ms_p99": round(float(np.percentile(lat_a, 99)), 1),
           "latency_ms_p99_first_third": round(float(np.percentile(lat_a[tl_a < tl_a.min() + third], 99)), 1)
           if third else None,
           "latency_ms_p99_last_third": round(float(np.percentile(lat_a[tl_a > tl_a.max() - third], 99)), 1)
           if third else None,
           "dec_threads_per_process": rs[0]["dec_threads"], "gpu_decode": rs[0]["gpu_decode"],
           "decoder": decoder, "mux_format": mux_format, "machine": next((r["machine"] for r in rs if "machine" in r), None),
           "process_cores": [r["process_cores"] for r in rs],
           "per_process": [{k: v for k, v in r.items() if not k.startswith("_")} for r in rs]}
    log(f"e2e {'paced' if paced else 'unpaced'} {streams} streams in {len(rs)} processes: "
        f"{ {k: v for k, v in res.items() if k != 'per_process'} }")
    return res


def fp16_config(directory: str) -> str:
    """The sample YOLOX config with network-mode=2 and absolute paths (for launch strings)."""
    src = Path(CONFIG).resolve()
    lines = []
    for line in src.read_text().splitlines():
        key, _, value = line.partition("=")
        if key in ("onnx-file", "labelfile-path"):
            line = f"{key}={(src.parent / value).resolve()}"
        elif key == "network-mode":
            line = f"network-mode={PRECISION}"
        lines.append(line)
    out = Path(directory) / "yolox_fp16.txt"
    out.write_text("\n".join(lines) + "\n")
    return str(out)


ELEMENT_SOURCES = {
    # packets demuxed by qtdemux (PyAV), decoded by nvv4l2decoder one packet per call
    "filesrc": "filesrc location={location} ! qtdemux ! h264parse ! nvv4l2decoder ! queue ! m.sink_{i}",
    # a local file demuxed and decoded in PyNvVideoCodec's C++ threads (FileDecoder)
    "uri": "uridecodebin uri=file://{location} ! m.sink_{i}",
}


def elements_e2e(clip: str, streams: int, procs: int, cfg: str, osd_file: str | None = None,
                 source: str = "filesrc") -> dict:
    """The launch-string pipeline (elements) over ``procs`` processes (``vistream.app.workers``): each file
    read once, unpaced; steady-state FPS from the per-stream frame counts (start-up excluded). With
    ``osd_file`` (one process): tiler, nvdsosd and nvv4l2h264enc (FFmpeg libx264 where there is no NVENC).
    ``source``: a key of :data:`ELEMENT_SOURCES`."""
    from vistream.app.workers import run_launch_workers

    kind, source = source, ELEMENT_SOURCES[source]
    clip = str(Path(clip).resolve())
    tail = (f"nvinfer config-file-path={cfg} batch-size={{batch}} ! nvtracker ll-config-file={Path(TRACKER).resolve()} "
            "ll-lib-file=libnvds_nvmultiobjecttracker.so ! ")
    if osd_file:
        tail += ("nvmultistreamtiler name=tiler width=1920 height=1080 ! nvvideoconvert ! nvdsosd ! nvvideoconvert ! "
                 f"nvv4l2h264enc ! h264parse ! mp4mux ! filesink name=sink location={osd_file}")
    else:
        tail += "fakesink name=sink sync=false"
    # OSD run: full batches only (a partial batch pushed on timeout repeats the previous batch's pts, which
    # mp4mux rejects after the tiler)
    push_timeout = 4000000 if osd_file else 40000
    template = (f"{{sources}} nvstreammux name=m batch-size={{batch}} width=1920 height=1080 "
                f"batched-push-timeout={push_timeout} ! " + tail)
    t = time.perf_counter()
    run = run_launch_workers(template, [clip] * streams, procs, source=source, timeout=400, interval=0,
                             sync_start=True, count_at="tiler" if osd_file else "sink")
    if run.errors:
        raise RuntimeError(f"launch workers failed: {run.errors}")
    res = {"streams": streams, "processes": len(run.shards), "osd_encode": bool(osd_file), "source": kind,
           "frames": sum(run.frames), "fps_steady": round(run.steady_fps(), 1),
           "fps_overall": round(sum(run.frames) / run.elapsed, 1), "seconds": round(run.elapsed, 1),
           "wall_with_startup": round(time.perf_counter() - t, 1)}
    if osd_file:  # one process: the workers would share the file name
        import av

        with av.open(osd_file) as c:
            st = c.streams.video[0]
            res["encoded_frames"] = sum(1 for _ in c.demux(st) if _.size)
            res["encoder"] = st.codec_context.name
    log(f"elements {streams} streams in {len(run.shards)} processes{' +OSD+encode' if osd_file else ''}: {res}")
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", required=True)
    ap.add_argument("--json", default="gpu_bench.json")
    ap.add_argument("--parts", default="decode,model,e2e,latency,elements")
    ap.add_argument("--procs", type=int, default=8, help="worker processes for the multi-process runs")
    ap.add_argument("--dec-threads", type=int, default=0,
                    help="decode threads per process (0: one per stream; K: K threads drive all NVDEC sessions)")
    ap.add_argument("--decoder", choices=("packets", "threaded"), default="packets",
                    help="end-to-end decoding: a Python call per packet (nvv4l2decoder) or PyNvVideoCodec's "
                         "ThreadedDecoder (demux and decode in C++ threads, as uridecodebin does for files)")
    ap.add_argument("--threaded-streams", default="64x1,64x8,128x8",
                    help="decode_threaded runs: STREAMSxPROCESSES,...")
    ap.add_argument("--e2e-streams", default="32,64", help="unpaced end-to-end stream counts, one process")
    ap.add_argument("--procs-streams", default="64,128", help="unpaced end-to-end stream counts, --procs processes")
    ap.add_argument("--seconds", type=float, default=6,
                    help="measured seconds of each unpaced end-to-end run and of each decode_threaded run")
    ap.add_argument("--decode-copy", action="store_true",
                    help="decode_threaded: copy each frame out of the decoder's ring buffer (as the pipeline does)")
    ap.add_argument("--paced-seconds", type=float, default=10, help="measured seconds of each paced run")
    ap.add_argument("--paced", default="", help="paced stream counts for --procs processes (default: from unpaced)")
    ap.add_argument("--elements", default="16x1,64x8", help="launch-string runs: STREAMSxPROCESSES,...")
    ap.add_argument("--elements-source", choices=sorted(ELEMENT_SOURCES), default="filesrc",
                    help="launch-string sources: filesrc ! qtdemux ! h264parse ! nvv4l2decoder, or uridecodebin")
    ap.add_argument("--mux-format", choices=("nv12", "rgb"), default="nv12",
                    help="end-to-end batches: NV12 as decoded (nvinfer converts into the network input, as "
                         "nvstreammux keeps them) or converted to RGB at the mux size first")
    a = ap.parse_args()
    parts = set(a.parts.split(","))
    res: dict = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
                 "driver": subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                          capture_output=True, text=True).stdout.strip(),
                 "cpu_cores": __import__("os").cpu_count(), "python": sys.version.split()[0]}
    import PyNvVideoCodec

    res["PyNvVideoCodec"] = PyNvVideoCodec.__version__
    try:
        import onnx2torch
        import torchvision

        res["onnx2torch"], res["torchvision"] = onnx2torch.__version__, torchvision.__version__
    except Exception:  # versions are informative only
        pass
    log(res)

    def save():
        Path(a.json).write_text(json.dumps(res, indent=1))

    if "decode" in parts:
        res["decode"] = []
        for n in (1, 8, 16, 32, 64):
            r = decode_ceiling(a.clip, n, 300 if n <= 16 else 150)
            log("decode", r)
            res["decode"].append(r)
            save()
    if "decode" in parts or "decode_procs" in parts:
        res["decode_procs"] = []
        for n, k in ((64, 4), (64, a.procs), (128, a.procs)):
            r = decode_ceiling_procs(a.clip, n, k, 150)
            log(f"decode ({k} processes)", r)
            res["decode_procs"].append(r)
            save()
    if "decode_threaded" in parts:
        res["decode_threaded"] = []
        for n, k in (tuple(int(v) for v in run.split("x")) for run in a.threaded_streams.split(",") if run):
            r = (decode_threaded(a.clip, n, a.seconds, copy=a.decode_copy) if k == 1
                 else decode_threaded_procs(a.clip, n, k, a.seconds, copy=a.decode_copy))
            res["decode_threaded"].append(r)
            save()
    if "model" in parts:
        frames = torch.stack([nv12 for nv12, _ in zip(_frames(a.clip), range(16), strict=False)])
        rgb1080 = nv12_to_rgb(frames)
        res["model"] = model_ceiling(rgb1080, (1, 2, 4, 8, 16, 32, 64))
        save()
        del frames, rgb1080
    if "e2e" in parts:
        res["e2e"] = []
        for n in [int(v) for v in a.e2e_streams.split(",") if v]:
            res["e2e"].append(E2E(a.clip, n, paced=False, seconds=a.seconds, dec_threads=a.dec_threads,
                                  decoder=a.decoder, monitor=True, mux_format=a.mux_format).run())
            save()
        res["e2e_procs"] = []
        for n in [int(v) for v in a.procs_streams.split(",") if v]:
            res["e2e_procs"].append(e2e_procs(a.clip, n, a.procs, False, a.seconds, a.dec_threads, a.decoder,
                                               a.mux_format))
            save()
        best = max([r["fps_total"] for r in res["e2e_procs"]] or [0])
        paced = [int(v) for v in a.paced.split(",") if v] or sorted({min(160, int(best // 30) // 8 * 8),
                                                                      min(160, int(best * 0.8 // 30) // 8 * 8)})
        for n in paced:
            if n >= 8:
                res["e2e_procs"].append(e2e_procs(a.clip, n, a.procs, True, a.paced_seconds, a.dec_threads, a.decoder,
                                                   a.mux_format))
                save()
    if "latency" in parts:
        res["latency8"] = E2E(a.clip, 8, paced=True, seconds=8, dec_threads=a.dec_threads, monitor=True,
                              mux_format=a.mux_format).run()
        save()
    if "elements" in parts or "osd" in parts:
        import tempfile

        tmp = tempfile.mkdtemp()
        cfg = fp16_config(tmp)
        res["elements"] = []
        if "elements" in parts:
            for n, k in (tuple(int(v) for v in run.split("x")) for run in a.elements.split(",") if run):
                res["elements"].append(elements_e2e(a.clip, n, k, cfg, source=a.elements_source))
                save()
        if "osd" in parts:
            res["elements"].append(elements_e2e(a.clip, 16, 1, cfg, osd_file=f"{tmp}/osd16.mp4"))
            save()
    save()
    log(json.dumps(res, indent=1))


def _frames(clip):
    from vistream.gpu.nvdec import decode_file

    for nv12, _pts in decode_file(clip):
        yield nv12


if __name__ == "__main__":
    main()
