"""Backend that sends inference requests to a Triton Inference Server with ``tritonclient`` (gRPC or HTTP).

A batch is split into requests of at most the model's ``max_batch_size`` (one image per request for models
without batching) and all requests are in flight at once (``async_infer``); results come back in order. On
the same host (``localhost``/``127.0.0.1``/``unix``) the tensors travel through POSIX system shared memory
registered with the server, so only small request headers cross the socket; if the server refuses the
registration the backend falls back to sending tensors in the request body.
"""

from __future__ import annotations

import itertools
import os
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from vistream.infer.config import ConfigError

_NP = {"FP32": np.float32, "FP16": np.float16, "FP64": np.float64, "INT32": np.int32, "INT64": np.int64,
       "UINT8": np.uint8, "INT8": np.int8, "BOOL": np.bool_}
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
_counter = itertools.count()


def _dim(d: Any) -> int | None:
    d = int(d)
    return d if d > 0 else None


@dataclass
class _Slot:
    """Shared-memory regions for one in-flight request (input + every output)."""

    names: dict[str, str]
    handles: dict[str, Any]
    sizes: dict[str, int]


class TritonClientBackend:
    """The :class:`~vistream.infer.backends.Backend` interface over a Triton server.

    ``url``: ``host:port`` of the gRPC endpoint (DeepStream's ``grpc { url }``), or ``http://host:port`` for
    the HTTP/REST endpoint. ``model_name``/``version`` (-1: the server's choice). ``shared_memory``:
    ``"auto"`` (system shared memory when the server is on this host), ``"system"`` or ``"none"``.
    ``timeout``: seconds to wait for the server to report the model ready; ``request_timeout``: for one batch's
    answers; ``max_in_flight``: requests sent before waiting for answers.

    >>> be = TritonClientBackend("localhost:8001", "yolox_nano")  # doctest: +SKIP
    >>> be.infer(np.zeros((4, 3, 416, 416), np.float32))["output"].shape  # doctest: +SKIP
    (4, 3549, 85)
    """

    def __init__(self, url: str, model_name: str, version: int = -1, *, shared_memory: str = "auto",
                 timeout: float = 10.0, where: str = "grpc.url", max_in_flight: int = 8,
                 request_timeout: float = 60.0) -> None:
        if shared_memory not in ("auto", "system", "none"):
            raise ValueError(f"shared_memory must be auto, system or none, got {shared_memory!r}")
        self.url = url
        self.model_name = model_name
        self.version = "" if version <= 0 else str(version)
        self.where = where
        self.protocol = "http" if url.startswith(("http://", "https://")) else "grpc"
        self.max_in_flight = max(1, int(max_in_flight))
        self.request_timeout = float(request_timeout)
        try:
            if self.protocol == "http":
                import tritonclient.http as client_mod

                self._client = self._http_client(client_mod)
            else:
                import tritonclient.grpc as client_mod

                self._client = client_mod.InferenceServerClient(url.removeprefix("grpc://"))
        except ImportError as e:
            raise ConfigError(f"{where}: the Triton client is not installed ({e.name}): "
                              "pip install 'vistream[triton]'") from None
        self._mod = client_mod
        self._lock = threading.Lock()
        self._tls = threading.local()
        self._thread_clients: list[Any] = []
        self._slots: list[_Slot] = []
        try:
            self._load_metadata(timeout)
        except Exception:
            self.close()
            raise
        host = url.split("://", 1)[-1].rsplit(":", 1)[0]
        self.shared_memory = (shared_memory == "system" or (shared_memory == "auto" and host in _LOCAL_HOSTS))
        if self.shared_memory:
            try:
                for _ in range(self.max_in_flight):
                    self._make_slot()
            except Exception:
                if shared_memory == "system":
                    self.close()
                    raise
                self._release_slots()
                self.shared_memory = False

    # ---- set-up -------------------------------------------------------------------------------------------

    def _load_metadata(self, timeout: float) -> None:
        import time

        from tritonclient.utils import InferenceServerException

        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while True:
            try:
                if self._client.is_model_ready(self.model_name, self.version):
                    break
                last = None
            except InferenceServerException as e:
                last = e
            except Exception as e:  # connection refused etc. come as transport-specific exceptions
                last = e
            if time.monotonic() > deadline:
                why = f": {str(last).splitlines()[0][:200]}" if last else ""
                raise ConfigError(f"{self.where}: Triton at {self.url} has no ready model '{self.model_name}'"
                                  f"{' version ' + self.version if self.version else ''}{why}")
            time.sleep(0.2)
        meta = self._client.get_model_metadata(self.model_name, self.version, **self._json())
        conf = self._client.get_model_config(self.model_name, self.version, **self._json())
        conf = conf.get("config", conf)
        self.max_batch_size = int(conf.get("max_batch_size", 0) or 0)
        inputs, outputs = meta["inputs"], meta["outputs"]
        if len(inputs) != 1:
            raise ConfigError(f"{self.where}: model '{self.model_name}' has {len(inputs)} inputs "
                              f"({', '.join(i['name'] for i in inputs)}); nvinferserver feeds one image input")
        inp = inputs[0]
        if inp["datatype"] != "FP32":
            raise ConfigError(f"{self.where}: input '{inp['name']}' is {inp['datatype']}; FP32 expected")
        self.input_name = inp["name"]
        # metadata shapes include the batch dimension (-1) when the model batches
        self.input_shape = tuple(_dim(d) for d in inp["shape"])
        if len(self.input_shape) != 4:
            raise ConfigError(f"{self.where}: input '{self.input_name}' has shape {inp['shape']}; an image input "
                              "of rank 4 with the batch dimension (NCHW or NHWC) is expected")
        self.output_names = [o["name"] for o in outputs]
        self.output_shapes = {o["name"]: tuple(_dim(d) for d in o["shape"]) for o in outputs}
        self._out_dtypes = {o["name"]: _NP.get(o["datatype"], np.float32) for o in outputs}
        fixed = self.input_shape[0]
        # max_batch: the most images one request may carry (0 = any)
        self.max_batch = self.max_batch_size if self.max_batch_size > 0 else (fixed or 1)
        for name, shape in self.output_shapes.items():
            if any(d is None for d in shape[1:]):
                raise ConfigError(f"{self.where}: output '{name}' has dynamic dims {list(shape)}; vistream needs "
                                  "fixed output dims (set them in config.pbtxt)")

    def _http_client(self, client_mod) -> Any:
        return client_mod.InferenceServerClient(self.url.split("://", 1)[1], ssl=self.url.startswith("https"),
                                                concurrency=self.max_in_flight, network_timeout=self.request_timeout)

    def _infer_client(self) -> Any:
        """gRPC clients are thread-safe; the HTTP client runs on gevent, whose hub belongs to one thread, so each
        calling thread (the engine may infer from its overlap thread) gets its own."""
        if self.protocol == "grpc":
            return self._client
        client = getattr(self._tls, "client", None)
        if client is None:
            client = self._tls.client = self._http_client(self._mod)
            self._thread_clients.append(client)
        return client

    def _json(self) -> dict:
        return {"as_json": True} if self.protocol == "grpc" else {}

    def _make_slot(self) -> _Slot:
        import tritonclient.utils.shared_memory as shm

        n = self.max_batch
        c, h, w = self.input_shape[1:]
        sizes = {self.input_name: n * c * h * w * 4}
        for name, shape in self.output_shapes.items():
            sizes[name] = n * int(np.prod(shape[1:])) * np.dtype(self._out_dtypes[name]).itemsize
        idx = next(_counter)
        slot = _Slot({}, {}, sizes)
        self._slots.append(slot)  # tracked at once, so close() frees it even if a later region fails
        for i, (tensor, size) in enumerate(sizes.items()):
            region = f"vistream_{os.getpid()}_{idx}_{i}"
            slot.handles[tensor] = shm.create_shared_memory_region(region, f"/{region}", size)
            slot.names[tensor] = region
            self._client.register_system_shared_memory(region, f"/{region}", size)
        return slot

    # ---- inference ----------------------------------------------------------------------------------------

    def _request(self, chunk: np.ndarray, slot: _Slot | None):
        m = self._mod
        shape = list(chunk.shape) if self.max_batch_size > 0 or self.input_shape[0] is None else \
            [self.input_shape[0], *chunk.shape[1:]]
        inp = m.InferInput(self.input_name, shape, "FP32")
        outs = [m.InferRequestedOutput(n) for n in self.output_names]
        if slot is None:
            inp.set_data_from_numpy(np.ascontiguousarray(chunk, np.float32))
        else:
            import tritonclient.utils.shared_memory as shm

            shm.set_shared_memory_region(slot.handles[self.input_name], [np.ascontiguousarray(chunk, np.float32)])
            inp.set_shared_memory(slot.names[self.input_name], chunk.nbytes)
            k = chunk.shape[0]
            for o, name in zip(outs, self.output_names, strict=True):
                size = k * slot.sizes[name] // self.max_batch
                o.set_shared_memory(slot.names[name], size)
        return inp, outs

    def _collect(self, result, slot: _Slot | None, k: int) -> dict[str, np.ndarray]:
        if slot is None:
            return {n: result.as_numpy(n) for n in self.output_names}
        import tritonclient.utils.shared_memory as shm

        out = {}
        for n in self.output_names:
            shape = (k, *self.output_shapes[n][1:])
            # copy: the region is reused by the next request
            out[n] = np.array(shm.get_contents_as_numpy(slot.handles[n], self._out_dtypes[n], shape))
        return out

    def infer(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Run ``batch`` (N images) as ceil(N / max_batch) requests, up to ``max_in_flight`` at a time."""
        step = self.max_batch
        chunks = [batch[i:i + step] for i in range(0, len(batch), step)]
        results: list[dict[str, np.ndarray] | None] = [None] * len(chunks)
        with self._lock:  # the shared-memory slots belong to one batch at a time
            for w0 in range(0, len(chunks), self.max_in_flight):
                window = list(enumerate(chunks[w0:w0 + self.max_in_flight], start=w0))
                self._run_window(window, results)
        if len(results) == 1:
            return results[0]  # type: ignore[return-value]
        return {n: np.concatenate([r[n] for r in results]) for n in self.output_names}  # type: ignore[index]

    def _run_window(self, window: list[tuple[int, np.ndarray]], results: list) -> None:
        from tritonclient.utils import InferenceServerException

        slots = self._slots if self.shared_memory else [None] * len(window)
        try:
            if self.protocol == "http":
                pending = []
                client = self._infer_client()
                for (i, chunk), slot in zip(window, slots, strict=False):
                    inp, outs = self._request(chunk, slot)
                    pending.append((i, slot, len(chunk), client.async_infer(
                        self.model_name, [inp], model_version=self.version, outputs=outs)))
                for i, slot, k, req in pending:
                    results[i] = self._collect(req.get_result(), slot, k)
                return
            done = threading.Semaphore(0)
            replies: dict[int, Any] = {}

            def callback(i, result, error):
                replies[i] = error if error is not None else result
                done.release()

            meta = []
            for (i, chunk), slot in zip(window, slots, strict=False):
                inp, outs = self._request(chunk, slot)
                meta.append((i, slot, len(chunk)))
                self._client.async_infer(self.model_name, [inp], lambda result, error, i=i: callback(i, result, error),
                                         model_version=self.version, outputs=outs)
            for _ in meta:
                if not done.acquire(timeout=self.request_timeout):
                    raise RuntimeError(f"{self.where}: Triton at {self.url} did not answer within "
                                       f"{self.request_timeout:.0f} s (model '{self.model_name}')")
            for i, slot, k in meta:
                if isinstance(replies[i], Exception):
                    raise replies[i]
                results[i] = self._collect(replies[i], slot, k)
        except InferenceServerException as e:
            raise RuntimeError(f"{self.where}: Triton at {self.url} failed on model '{self.model_name}': "
                               f"{str(e).splitlines()[0][:300]}") from None

    # ---- teardown -----------------------------------------------------------------------------------------

    def _release_slots(self) -> None:
        import tritonclient.utils.shared_memory as shm

        for slot in self._slots:
            for tensor, region in slot.names.items():
                try:
                    self._client.unregister_system_shared_memory(region)
                except Exception:  # the server may be gone already; the local region is still freed below
                    pass
                try:
                    shm.destroy_shared_memory_region(slot.handles[tensor])
                except Exception:
                    pass
        self._slots = []

    def close(self) -> None:
        """Unregister and free the shared-memory regions and close the connection (idempotent)."""
        client = getattr(self, "_client", None)
        if client is None:
            return
        self._release_slots()
        for c in self._thread_clients:
            try:
                c.close()
            except Exception:  # a gevent client closed from another thread: its sockets go with the object
                pass
        self._thread_clients = []
        try:
            client.close()
        finally:
            self._client = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
