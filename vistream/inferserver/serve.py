"""Serve a Triton model repository of ONNX models on a real Triton Inference Server, CPU only, with PyTriton.

PyPI's ``nvidia-pytriton`` ships Triton 2.x with its Python backend but without the ONNX Runtime backend, so
each model of the repository is bound as a Python function that runs the ONNX file with ONNX Runtime. The
model's inputs, outputs, dims and ``max_batch_size`` are those of its ``config.pbtxt`` (or of the ONNX file
when there is none), so clients see the same model a production Triton would serve from the same repository.

This file runs in its own interpreter (PyTriton pins ``numpy<2``), so it imports nothing from vistream::

    LD_LIBRARY_PATH=$(python -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))') \\
        <venv>/bin/python vistream/inferserver/serve.py samples/configs/inferserver/triton_model_repo \\
        --grpc-port 8001 --http-port 8000

It prints ``READY grpc=<port> http=<port> models=<names>`` once Triton accepts requests, and stops Triton on
SIGTERM or Ctrl-C. ``--batching N`` serves models whose ONNX batch is fixed at 1 with Triton's dynamic batcher
(``max_batch_size: N``); the function then runs the batch image by image.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import signal
import sys
from pathlib import Path

import numpy as np

_DTYPES = {"TYPE_FP32": np.float32, "TYPE_FP16": np.float16, "TYPE_FP64": np.float64, "TYPE_INT32": np.int32,
           "TYPE_INT64": np.int64, "TYPE_UINT8": np.uint8, "TYPE_INT8": np.int8, "TYPE_BOOL": np.bool_}
_ORT_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
               "tensor(int32)": np.int32, "tensor(int64)": np.int64, "tensor(uint8)": np.uint8,
               "tensor(int8)": np.int8, "tensor(bool)": np.bool_}


def _schema():
    """vistream's schema module, loaded by path so that this process needs only protobuf."""
    spec = importlib.util.spec_from_file_location("_vistream_inferserver_schema", Path(__file__).with_name("schema.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _model_config(path: Path):
    if not path.is_file():
        return None
    from google.protobuf import text_format

    msg = _schema().model_config_class()()
    text_format.Parse(path.read_text(encoding="utf-8"), msg, allow_unknown_field=True)
    return msg


def _dims(shape) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) and d > 0 else -1 for d in shape)


def describe(model_dir: Path, batching: int, threads: int) -> dict:
    """Load the newest version of one repository model: its ORT session and the tensors Triton will expose."""
    import onnxruntime as ort

    versions = sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())
    if not versions:
        raise SystemExit(f"{model_dir}: no numeric version directory")
    msg = _model_config(model_dir / "config.pbtxt")
    filename = msg.default_model_filename if msg is not None and msg.default_model_filename else "model.onnx"
    onnx_path = model_dir / str(versions[-1]) / filename
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), sess_options=so, providers=["CPUExecutionProvider"])
    ins = [(i.name, _ORT_DTYPES[i.type], _dims(i.shape)) for i in sess.get_inputs()]
    outs = [(o.name, _ORT_DTYPES[o.type], _dims(o.shape)) for o in sess.get_outputs()]
    fixed_batch = ins[0][2][0] if ins[0][2] else -1
    if msg is not None:
        enum = msg.DESCRIPTOR.fields_by_name["input"].message_type.fields_by_name["data_type"].enum_type
        max_batch = int(msg.max_batch_size)
        ins = [(t.name, _DTYPES[enum.values_by_number[t.data_type].name], tuple(t.dims)) for t in msg.input] or ins
        outs = [(t.name, _DTYPES[enum.values_by_number[t.data_type].name], tuple(t.dims)) for t in msg.output] or outs
        if max_batch == 0 and batching and fixed_batch == 1:
            max_batch = batching
            ins = [(n, d, s[1:]) for n, d, s in ins]
            outs = [(n, d, s[1:]) for n, d, s in outs]
    elif fixed_batch == -1:  # dynamic batch: Triton batches, dims without the batch dimension
        max_batch = batching or 8
        ins = [(n, d, s[1:]) for n, d, s in ins]
        outs = [(n, d, s[1:]) for n, d, s in outs]
    elif batching and fixed_batch == 1:
        max_batch = batching
        ins = [(n, d, s[1:]) for n, d, s in ins]
        outs = [(n, d, s[1:]) for n, d, s in outs]
    else:
        max_batch = 0
    return {"name": model_dir.name, "session": sess, "inputs": ins, "outputs": outs, "max_batch": max_batch,
            "fixed_batch": fixed_batch, "version": versions[-1]}


def make_infer_func(model: dict):
    """The function PyTriton calls with a list of requests; one ORT run per image when the ONNX batch is 1."""
    sess, out_names = model["session"], [o[0] for o in model["outputs"]]
    in_names = [i[0] for i in model["inputs"]]
    per_image = model["fixed_batch"] == 1

    def run(feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = next(iter(feeds.values())).shape[0]
        if not per_image or n == 1:
            return dict(zip(out_names, sess.run(out_names, feeds), strict=True))
        parts = [sess.run(out_names, {k: v[i:i + 1] for k, v in feeds.items()}) for i in range(n)]
        return {name: np.concatenate([p[j] for p in parts]) for j, name in enumerate(out_names)}

    def infer(requests):
        return [run({name: np.asarray(req[name]) for name in in_names}) for req in requests]

    return infer


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("repository", type=Path, help="Triton model repository (<model>/<version>/model.onnx)")
    ap.add_argument("--models", default="", help="comma-separated model names (default: every model)")
    ap.add_argument("--address", default="127.0.0.1", help="address Triton listens on (default 127.0.0.1)")
    ap.add_argument("--grpc-port", type=int, default=8001)
    ap.add_argument("--http-port", type=int, default=8000)
    ap.add_argument("--metrics-port", type=int, default=8002)
    ap.add_argument("--batching", type=int, default=0,
                    help="serve batch-1 ONNX models with Triton's dynamic batcher, up to this many per batch")
    ap.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads per model")
    args = ap.parse_args(argv)

    from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
    from pytriton.triton import DEFAULT_PROTECTED_ENDPOINTS, Triton, TritonConfig, TritonSecurityConfig

    wanted = {m for m in re.split(r"[,\s]+", args.models) if m}
    dirs = sorted(p for p in args.repository.iterdir() if p.is_dir() and (not wanted or p.name in wanted))
    if not dirs:
        raise SystemExit(f"{args.repository}: no model directories")
    models = [describe(d, args.batching, args.threads) for d in dirs]
    config = TritonConfig(http_address=args.address, http_port=args.http_port, grpc_address=args.address,
                          grpc_port=args.grpc_port, metrics_address=args.address, metrics_port=args.metrics_port,
                          allow_sagemaker=False, allow_vertex_ai=False, exit_on_error=True)

    def stop(_sig, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # PyTriton puts the shared-memory API behind an access token; Triton itself leaves it open. Open it, so that
    # clients on this host (vistream's "auto" shared memory) can register regions as with a stock Triton.
    security = TritonSecurityConfig(restricted_endpoints=[e for e in DEFAULT_PROTECTED_ENDPOINTS
                                                          if e != "shared-memory"])
    triton = Triton(config=config, security_config=security)
    try:
        for m in models:
            batching = m["max_batch"] > 0
            triton.bind(model_name=m["name"], infer_func=make_infer_func(m), model_version=m["version"],
                        inputs=[Tensor(name=n, dtype=d, shape=s) for n, d, s in m["inputs"]],
                        outputs=[Tensor(name=n, dtype=d, shape=s) for n, d, s in m["outputs"]],
                        config=ModelConfig(batching=batching, max_batch_size=max(m["max_batch"], 1),
                                           batcher=DynamicBatcher(max_queue_delay_microseconds=2000)),
                        strict=True)
        triton.run()
        print(f"READY grpc={args.grpc_port} http={args.http_port} models={','.join(m['name'] for m in models)}",
              flush=True)
        triton.serve()
    except KeyboardInterrupt:
        pass
    finally:
        triton.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
