"""PyTorch backend (``backend=torch`` in an nvinfer config): the ONNX model converted with onnx2torch, run on a
CUDA device in FP16 (``network-mode=2``) or FP32, with one CUDA graph captured per batch size.

The conversion upgrades old opsets (< 13) with ONNX's version converter first (UltraFace and the DeepLab
sample are opset 9). Quantised graphs (QuantizeLinear/DequantizeLinear, e.g. the MobileNetV2 sample) do not
convert: the error names the operator and says to use ``backend=onnxruntime``.

``infer(batch)`` takes a float32 NumPy batch (the :class:`~vistream.infer.backends.Backend` contract) and
returns NumPy outputs; ``infer_tensor(x)`` takes and returns device tensors (the GPU pipeline keeps the input
on the GPU and downloads only the outputs).

>>> be = TorchCudaBackend("samples/models/yolox_nano_416_coco.onnx", precision=2)   # doctest: +SKIP
>>> be.input_shape, be.max_batch, be.dtype                                         # doctest: +SKIP
((None, 3, 416, 416), 0, torch.float16)
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from vistream.infer.backends import register_backend
from vistream.infer.config import ConfigError

# Batch sizes above this run eagerly (graphs hold their own copy of every activation).
MAX_GRAPH_BATCH = 256
GRAPH_ENV = "VISTREAM_CUDA_GRAPHS"  # 0 disables CUDA graphs (debugging, profiling)
FUSE_ENV = "VISTREAM_TORCH_FUSE"  # 0 runs the converted graph as it is (no SiLU fusion; for comparisons)


def _free_batch(proto, input_name: str):
    """A copy of the graph with a symbolic batch dimension: exporters often bake batch 1 into the input and into
    ``Reshape`` targets (YOLOX: ``[1, 85, -1]``); a leading 1 there becomes 0 (copy the input's dim). The result
    is used only if a batch of 2 reproduces the single-image outputs (checked by the caller)."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.ModelProto.FromString(proto.SerializeToString())
    for i in proto.graph.input:
        if i.name == input_name:
            i.type.tensor_type.shape.dim[0].dim_param = "batch"
    inits = {t.name: t for t in proto.graph.initializer}
    consts = {n.output[0]: n for n in proto.graph.node if n.op_type == "Constant"}
    for node in proto.graph.node:
        if node.op_type != "Reshape" or len(node.input) < 2:
            continue
        name = node.input[1]
        if name in inits:
            arr = numpy_helper.to_array(inits[name]).copy()
            if arr.ndim == 1 and arr.size > 1 and arr[0] == 1:
                arr[0] = 0
                inits[name].CopyFrom(numpy_helper.from_array(arr, name))
        elif name in consts:
            attr = consts[name].attribute[0]
            arr = numpy_helper.to_array(attr.t).copy()
            if arr.ndim == 1 and arr.size > 1 and arr[0] == 1:
                arr[0] = 0
                attr.t.CopyFrom(numpy_helper.from_array(arr))
    for o in proto.graph.output:
        if o.type.tensor_type.shape.dim:
            o.type.tensor_type.shape.dim[0].dim_param = "batch"
    return proto


def _freeze_shape_ops(gm) -> int:
    """Replace onnx2torch ``Slice``/``Reshape`` modules whose index/shape inputs are graph constants by modules
    holding plain Python ints. The originals read those tensors on the host in every forward(): on the GPU each
    read is a device->host sync (slow, and forbidden inside CUDA-graph capture). Returns how many were frozen."""
    import torch
    from onnx2torch.node_converters.reshape import OnnxReshape
    from onnx2torch.node_converters.resize import OnnxResize, _onnx_mode_to_torch_mode
    from onnx2torch.node_converters.slice import OnnxSlice, _do_slice, _get_slices

    class StaticResize(torch.nn.Module):
        def __init__(self, mode: str, align_corners, sizes, scales):
            super().__init__()
            self.mode, self.align_corners, self.sizes, self.scales = mode, align_corners, sizes, scales

        def forward(self, x):
            mode = _onnx_mode_to_torch_mode(self.mode, x.dim() - 2)
            return torch.nn.functional.interpolate(x, size=self.sizes, scale_factor=self.scales, mode=mode,
                                                   align_corners=self.align_corners)

    class StaticSlice(torch.nn.Module):
        def __init__(self, parts):
            super().__init__()
            self.parts = parts

        def forward(self, x):
            return _do_slice(x, *self.parts)

    class StaticReshape(torch.nn.Module):
        def __init__(self, shape: list[int]):
            super().__init__()
            self.shape = shape

        def forward(self, x):
            return torch.reshape(x, [x.shape[i] if d == 0 else d for i, d in enumerate(self.shape)])

    def const(arg):
        if arg is None:
            return None
        if getattr(arg, "op", None) != "get_attr":
            raise LookupError
        obj = gm
        for part in arg.target.split("."):
            obj = getattr(obj, part)
        return obj.detach().cpu()

    n = 0
    for node in list(gm.graph.nodes):
        if node.op != "call_module":
            continue
        mod = gm.get_submodule(node.target)
        if not isinstance(mod, (OnnxSlice, OnnxReshape, OnnxResize)):
            continue
        try:
            consts = [const(a) for a in node.args[1:]]
        except LookupError:
            continue  # computed at run time (dynamic shapes): keep the original module
        if isinstance(mod, OnnxResize):
            roi, scales, sizes = (consts + [None] * (3 - len(consts)))[:3]
            if (roi is not None and roi.nelement() and not mod.ignore_roi) or node.kwargs:
                continue
            sizes = sizes.tolist()[2:] if sizes is not None and sizes.nelement() else None
            scales = scales.tolist() if scales is not None and scales.nelement() else None
            if scales is not None and scales[:2] != [1, 1]:
                continue
            new = StaticResize(mod.onnx_mode, mod.align_corners, sizes, scales[2:] if scales else None)
        elif isinstance(mod, OnnxSlice):
            new = StaticSlice(_get_slices(*(consts + [None] * (4 - len(consts)))))
        else:
            new = StaticReshape([int(v) for v in consts[0].tolist()])
        parent, _, name = node.target.rpartition(".")
        setattr(gm.get_submodule(parent) if parent else gm, name, new)
        node.args = node.args[:1]
        n += 1
    if n:
        gm.graph.eliminate_dead_code()
        gm.recompile()
    return n


def _fuse_silu(gm) -> int:
    """Replace ``x * sigmoid(x)`` (SiLU as ONNX exporters write it: a Sigmoid and a Mul node) by one
    ``F.silu(x)``: one pass over the activation instead of two reads and two writes. YOLOX-nano has 104 of them,
    a small model whose run time is mostly such memory-bound passes. Returns how many were fused."""
    import torch
    from torch import fx

    def sigmoid_of(node, x) -> bool:
        return (isinstance(node, fx.Node) and node.op == "call_module" and node.args == (x,) and not node.kwargs
                and type(gm.get_submodule(node.target)) is torch.nn.Sigmoid)

    n = 0
    for node in list(gm.graph.nodes):
        if node.op != "call_module" or len(node.args) != 2 or node.kwargs:
            continue
        mod = gm.get_submodule(node.target)
        if getattr(mod, "math_op_function", None) is not torch.mul or getattr(mod, "broadcast", None) == 1:
            continue
        a, b = node.args
        x = a if sigmoid_of(b, a) else b if sigmoid_of(a, b) else None
        if x is None:
            continue
        with gm.graph.inserting_after(node):
            silu = gm.graph.call_function(torch.nn.functional.silu, (x,))
        node.replace_all_uses_with(silu)
        gm.graph.erase_node(node)
        n += 1
    if n:
        gm.graph.eliminate_dead_code()  # the Sigmoid nodes nothing else reads
        gm.recompile()
    return n


def _dim(d) -> int | None:
    v = getattr(d, "dim_value", 0)
    return int(v) if v and v > 0 else None


class TorchCudaBackend:
    """One converted model on one device. ``device="cpu"`` runs it on the CPU in FP32 (parity tests)."""

    def __init__(self, model_path: str, *, key: str = "onnx-file", threads: int = 2, precision: int = 0,
                 device_id: int = 0, device: str | None = None, cuda_graphs: bool | None = None) -> None:
        try:
            import onnx
            import torch
            from onnx import version_converter
        except ImportError as e:
            raise ConfigError(f"{key}: backend=torch needs PyTorch and onnx ({e}); "
                              "install the GPU extra: pip install 'vistream[gpu]'") from None
        try:
            import onnx2torch
        except ImportError as e:
            raise ConfigError(f"{key}: backend=torch needs onnx2torch ({e}); "
                              "install the GPU extra: pip install 'vistream[gpu]'") from None
        p = Path(model_path)
        if not model_path or not p.is_file():
            raise ConfigError(f"{key}: model file not found: {p}")
        if device is None:
            if not torch.cuda.is_available():
                raise ConfigError(f"{key}: backend=torch runs on CUDA but PyTorch {torch.__version__} sees no GPU; "
                                  "use backend=onnxruntime on this machine")
            if device_id >= torch.cuda.device_count():
                raise ConfigError(f"{key}: gpu-id={device_id} but only {torch.cuda.device_count()} CUDA device(s)")
            device = f"cuda:{device_id}"
        self.device = torch.device(device)
        torch.set_num_threads(max(1, int(threads))) if self.device.type == "cpu" else None
        try:
            proto = onnx.load(str(p))
        except Exception as e:
            raise ConfigError(f"{key}: cannot load {p} as an ONNX model: {str(e).splitlines()[0][:300]}") from None
        graph_inputs = [i for i in proto.graph.input if i.name not in {t.name for t in proto.graph.initializer}]
        if len(graph_inputs) != 1:
            raise ConfigError(f"{key}: {p.name} has {len(graph_inputs)} inputs; nvinfer models take one image input")
        inp = graph_inputs[0]
        if inp.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
            raise ConfigError(f"{key}: {p.name} input '{inp.name}' is not float32")
        dims = tuple(_dim(d) for d in inp.type.tensor_type.shape.dim)
        if len(dims) != 4:
            raise ConfigError(f"{key}: {p.name} input '{inp.name}' has rank {len(dims)}; an image input of rank 4 "
                              "(NCHW or NHWC) is expected")
        self.input_name = inp.name
        self.output_names = [o.name for o in proto.graph.output]
        out_shapes = {o.name: tuple(_dim(d) for d in o.type.tensor_type.shape.dim) for o in proto.graph.output}
        opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 13)
        if opset < 13:
            try:
                proto = version_converter.convert_version(proto, 13)
            except Exception as e:
                raise ConfigError(f"{key}: {p.name} is opset {opset} and could not be upgraded for onnx2torch "
                                  f"({str(e).splitlines()[0][:200]}); use backend=onnxruntime") from None
        self.dtype = torch.float16 if (precision in (1, 2) and self.device.type == "cuda") else torch.float32
        if precision == 1:
            warnings.warn(f"{key}: network-mode=1 (INT8) needs TensorRT calibration; backend=torch runs FP16",
                          stacklevel=3)
        self._torch = torch
        self.max_batch = 1
        if dims[0] in (None, 1):  # try a dynamic batch first; keep it only when it gives per-image results
            try:
                self.module = self._convert(onnx2torch, _free_batch(proto, inp.name), key, p)
                self.max_batch = self._probe_batch(dims)
            except ConfigError:
                raise
            except Exception:
                self.max_batch = 1
        if self.max_batch == 1 or dims[0] not in (None, 1):
            self.module = self._convert(onnx2torch, proto, key, p)
            self.max_batch = 0 if dims[0] is None else dims[0]
            if dims[0] is None and self._probe_batch(dims) != 0:
                self.max_batch = 1
        self.input_shape = ((None if self.max_batch == 0 else dims[0]),) + dims[1:]
        self.output_shapes = {n: ((None,) + s[1:] if self.max_batch == 0 and s else s) for n, s in out_shapes.items()}
        if cuda_graphs is None:
            cuda_graphs = os.environ.get(GRAPH_ENV, "1") != "0"
        self.cuda_graphs = bool(cuda_graphs) and self.device.type == "cuda"
        self._graphs: dict[int, tuple] = {}

    def _convert(self, onnx2torch, proto, key: str, p: Path):
        try:
            module = onnx2torch.convert(proto)
        except NotImplementedError as e:
            raise ConfigError(f"{key}: {p.name} cannot run on backend=torch: onnx2torch: {e}; "
                              "use backend=onnxruntime for this model") from None
        try:
            self.frozen_ops = _freeze_shape_ops(module)
        except Exception as e:  # an onnx2torch version with other internals: run the modules as converted
            warnings.warn(f"{key}: could not freeze shape operators ({e}); running them as converted", stacklevel=3)
            self.frozen_ops = 0
        self.fused_ops = 0
        if os.environ.get(FUSE_ENV, "1") != "0":
            try:
                self.fused_ops = _fuse_silu(module)
            except Exception as e:  # other onnx2torch internals: run the modules as converted
                warnings.warn(f"{key}: could not fuse SiLU activations ({e}); running them as converted", stacklevel=3)
        return module.eval().to(self.device, self.dtype)

    def _probe_batch(self, dims) -> int:
        """0 when a batch of 2 gives each image's own outputs, else 1."""
        torch = self._torch
        shape1 = tuple(d or 1 for d in dims)
        g = torch.Generator(device="cpu").manual_seed(0)
        x = (torch.rand((2,) + shape1[1:], generator=g) * 255).to(self.device, self.dtype)
        with torch.inference_mode():
            try:
                both = self._run(x)
                one = self._run(x[1:2])
            except Exception:
                return 1
        # A batch baked into a reshape gives garbage (relative error ~1); numerics (TF32, FP16) stay far below this
        tol = 3e-2 if self.dtype == torch.float16 else 1e-2
        for name in self.output_names:
            a, b = both[name], one[name]
            if a.shape[0] != 2 or a.shape[1:] != b.shape[1:]:
                return 1
            a, b = a[1:2].float(), b.float()
            if not torch.isfinite(a).all() or (a - b).norm() > tol * max(b.norm().item(), 1e-6):
                return 1
        return 0

    def _run(self, x):
        out = self.module(x)
        if not isinstance(out, (tuple, list)):
            out = (out,)
        return dict(zip(self.output_names, out, strict=True))

    def _graph(self, x):
        """Replay (capturing on first use) a CUDA graph for this input shape; returns its static outputs."""
        torch = self._torch
        key = tuple(x.shape)
        entry = self._graphs.get(key)
        if entry is None:
            static_in = x.clone()
            run = self._run
            s = torch.cuda.Stream(self.device)
            s.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(s), torch.inference_mode():
                for _ in range(3):  # warm-up outside the graph (cuDNN algorithm choice, lazy init, JIT passes)
                    run(static_in)
            torch.cuda.current_stream(self.device).wait_stream(s)
            graph = torch.cuda.CUDAGraph()
            # thread_local: other threads (NVDEC decoders creating sessions, other engines) may call CUDA while
            # this thread captures; the default "global" mode makes their calls fail (cuvid error 900)
            with torch.cuda.graph(graph, capture_error_mode="thread_local"), torch.inference_mode():
                static_out = run(static_in)
            entry = self._graphs[key] = (graph, static_in, static_out)
        graph, static_in, static_out = entry
        static_in.copy_(x)
        graph.replay()
        return static_out

    def infer_tensor(self, x) -> dict:
        """Run a device tensor batch (any float dtype; cast to the model's); returns device tensors. Outputs of a
        CUDA-graph replay are reused by the next call of the same batch size: copy them before then."""
        torch = self._torch
        x = x.to(self.device, self.dtype, non_blocking=True)
        if self.max_batch == 1 and x.shape[0] > 1:
            parts = [self.infer_tensor(x[i:i + 1]) for i in range(x.shape[0])]
            return {n: torch.cat([p[n] for p in parts]) for n in self.output_names}
        if self.cuda_graphs and x.shape[0] <= MAX_GRAPH_BATCH:
            n = x.shape[0]
            # Dynamic-batch models: pad to the next power of two so a few graphs serve every batch size
            # (partial batches from nvstreammux timeouts would otherwise each capture a graph of their own).
            bucket = 1 << (n - 1).bit_length() if self.max_batch == 0 else n
            if bucket != n:
                x = torch.cat([x, x.new_zeros((bucket - n, *x.shape[1:]))])
            try:
                out = self._graph(x)
                return out if bucket == n else {k: v[:n] for k, v in out.items()}
            except RuntimeError as e:  # an operator that cannot be captured: run this model eagerly from now on
                warnings.warn(f"CUDA graph capture failed ({str(e).splitlines()[0][:160]}); running eagerly",
                              stacklevel=2)
                self.cuda_graphs = False
                self._graphs.clear()
                torch.cuda.synchronize(self.device)
        with torch.inference_mode():
            return self._run(x)

    def warmup(self, max_batch: int) -> None:
        """Capture the CUDA graphs of every batch bucket up to ``max_batch`` now (as DeepStream builds its engines
        before PLAYING) rather than at the first batch of each size while frames flow."""
        if not self.cuda_graphs or self.device.type != "cuda":
            return
        torch = self._torch
        shape = tuple(d or 1 for d in self.input_shape[1:])
        sizes = [1 << k for k in range((max(1, int(max_batch)) - 1).bit_length() + 1)] if self.max_batch == 0 else [1]
        for b in sizes:
            if b > MAX_GRAPH_BATCH or not self.cuda_graphs:
                break
            self.infer_tensor(torch.zeros((b, *shape), dtype=self.dtype, device=self.device))
        torch.cuda.synchronize(self.device)

    def infer(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        torch = self._torch
        x = torch.from_numpy(np.ascontiguousarray(batch, np.float32))
        out = self.infer_tensor(x)
        return {n: t.float().cpu().numpy() for n, t in out.items()}


register_backend("torch", TorchCudaBackend)
