"""Device inventory and API probe for the GPU path (prints what is installed and what works)."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import time
import traceback

import numpy as np


def step(name):
    def deco(fn):
        print(f"\n=== {name}", flush=True)
        t = time.perf_counter()
        try:
            fn()
        except Exception:
            traceback.print_exc(limit=3, file=sys.stdout)
        print(f"--- {name}: {time.perf_counter() - t:.2f}s", flush=True)
        return fn
    return deco


@step("versions")
def _():
    print(sys.version)
    print(subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm",
                          "--format=csv"], capture_output=True, text=True).stdout)
    for mod in ("torch", "torchvision", "numpy", "cv2", "av", "onnx", "onnxruntime", "cupy", "PyNvVideoCodec",
                "onnx2torch", "triton", "tensorrt"):
        try:
            m = __import__(mod)
            print(mod, getattr(m, "__version__", "?"), getattr(m, "__file__", ""))
        except Exception as e:
            print(mod, "MISSING", type(e).__name__, str(e)[:120])
    import onnxruntime as ort
    print("ort providers", ort.get_available_providers())
    import shutil
    print("nsys", shutil.which("nsys"), "ffmpeg", shutil.which("ffmpeg"))


@step("nvc api")
def _():
    import PyNvVideoCodec as nvc
    print([n for n in dir(nvc) if not n.startswith("_")])
    for n in ("CreateDecoder", "CreateDemuxer", "PacketData", "PyNvDecoder", "PyNvEncoder", "DecodedFrame",
              "OutputColorType", "PyNvDemuxer"):
        obj = getattr(nvc, n, None)
        if obj is None:
            continue
        print("##", n, (obj.__doc__ or "")[:1500])
        if inspect.isclass(obj):
            print("   members:", [m for m in dir(obj) if not m.startswith("__")])
            for m in dir(obj):
                if not m.startswith("__"):
                    d = getattr(getattr(obj, m), "__doc__", "") or ""
                    print("   ", m, ":", d[:400].replace("\n", " | "))


@step("nvdec decode mp4 + dlpack")
def _():
    import PyNvVideoCodec as nvc
    import torch
    dmx = nvc.CreateDemuxer(filename="samples/videos/traffic_overhead_640x360.mp4")
    print("codec", dmx.GetNvCodecId(), [m for m in dir(dmx) if not m.startswith("_")])
    dec = nvc.CreateDecoder(gpuid=0, codec=dmx.GetNvCodecId(), usedevicememory=True)
    n = 0
    t0 = time.perf_counter()
    first = None
    for pkt in dmx:
        if n == 0:
            print("packet members", [m for m in dir(pkt) if not m.startswith("__")], pkt.bsl, pkt.pts, pkt.key)
        for fr in dec.Decode(pkt):
            if first is None:
                first = fr
                print("frame members", [m for m in dir(fr) if not m.startswith("__")])
                print("format", fr.format, "shape", getattr(fr, "shape", None), "ts", fr.getPTS() if hasattr(fr, "getPTS") else None)
                t = torch.from_dlpack(fr)
                print("dlpack tensor", t.shape, t.dtype, t.device, t.stride())
                print("cai", getattr(fr, "__cuda_array_interface__", None))
                print("nv12 y mean", t[:360].float().mean().item())
            n += 1
    for _fr in dec.Decode(nvc.PacketData()):
        n += 1
    print("frames", n, "in", time.perf_counter() - t0)
    print("decoder members", [m for m in dir(dec) if not m.startswith("__")])


@step("nvdec from bytes (annex-b packets via PacketData)")
def _():
    import PyNvVideoCodec as nvc
    data = open("samples/videos/traffic_overhead_640x360.h264", "rb").read()
    dec = nvc.CreateDecoder(gpuid=0, codec=nvc.cudaVideoCodec.H264, usedevicememory=True)
    arr = np.frombuffer(data, np.uint8).copy()
    n = 0
    chunk = 65536
    for i in range(0, len(arr), chunk):
        part = arr[i:i + chunk]
        pkt = nvc.PacketData()
        pkt.bsl_data = part.ctypes.data
        pkt.bsl = part.size
        pkt.pts = i
        n += len(dec.Decode(pkt))
    pkt = nvc.PacketData()
    n += len(dec.Decode(pkt))
    print("bytes-fed frames", n)


@step("nvdec raw .h264 via demuxer")
def _():
    import PyNvVideoCodec as nvc
    dmx = nvc.CreateDemuxer(filename="samples/videos/traffic_overhead_640x360.h264")
    dec = nvc.CreateDecoder(gpuid=0, codec=dmx.GetNvCodecId(), usedevicememory=True)
    n = sum(len(dec.Decode(p)) for p in dmx)
    print("frames", n, "fps", dmx.FrameRate() if hasattr(dmx, "FrameRate") else None)


@step("nvenc 1080p from upscaled clip")
def _():
    import PyNvVideoCodec as nvc
    import torch
    import torch.nn.functional as F
    enc = nvc.CreateEncoder(1920, 1080, "NV12", False, codec="h264", preset="P1", fps=30, gop=30, bitrate=8000000)
    print("encoder members", [m for m in dir(enc) if not m.startswith("__")])
    dmx = nvc.CreateDemuxer(filename="samples/videos/traffic_overhead_640x360.mp4")
    dec = nvc.CreateDecoder(gpuid=0, codec=dmx.GetNvCodecId(), usedevicememory=True)
    import tempfile

    path = os.path.join(tempfile.mkdtemp(), "probe1080.h264")
    out = open(path, "wb")
    n = 0
    t0 = time.perf_counter()
    for pkt in dmx:
        for fr in dec.Decode(pkt):
            t = torch.from_dlpack(fr)
            h = t.shape[0] * 2 // 3
            y = t[:h].float()[None, None]
            uv = t[h:].view(h // 2, -1, 2).permute(2, 0, 1).float()[None]
            Y = F.interpolate(y, size=(1080, 1920), mode="bilinear").round().clamp(0, 255).to(torch.uint8)[0, 0]
            UV = F.interpolate(uv, size=(540, 960), mode="bilinear").round().clamp(0, 255).to(torch.uint8)[0]
            nv12 = torch.cat([Y, UV.permute(1, 2, 0).reshape(540, 1920)], 0).contiguous()
            bs = enc.Encode(nv12)
            out.write(bytearray(bs))
            n += 1
    out.write(bytearray(enc.EndEncode()))
    out.close()
    torch.cuda.synchronize()
    print("encoded", n, "frames in", time.perf_counter() - t0)
    print("size", os.path.getsize(path))
    dmx = nvc.CreateDemuxer(filename=path)
    dec = nvc.CreateDecoder(gpuid=0, codec=dmx.GetNvCodecId(), usedevicememory=True)
    m = 0
    for p in dmx:
        for fr in dec.Decode(p):
            if m == 0:
                print("re-decoded shape", torch.from_dlpack(fr).shape)
            m += 1
    print("re-decoded", m)


@step("onnx2torch yolox fp16 timing")
def _():
    import onnx
    import onnx2torch
    import torch
    from onnx import version_converter
    for name in ("yolox_nano_416_coco", "ultraface_rfb_320", "deeplabv3_mnv2_257_voc"):
        mp = onnx.load(f"samples/models/{name}.onnx")
        if mp.opset_import[0].version < 13:
            mp = version_converter.convert_version(mp, 13)
        m = onnx2torch.convert(mp).eval().cuda().half()
        print(name, "converted")
    m = onnx2torch.convert("samples/models/yolox_nano_416_coco.onnx").eval().cuda().half()
    for b in (1, 8, 32, 64):
        x = torch.rand(b, 3, 416, 416, device="cuda", dtype=torch.half)
        with torch.inference_mode():
            for _ in range(3):
                m(x)
            torch.cuda.synchronize()
            t = time.perf_counter()
            for _ in range(10):
                m(x)
            torch.cuda.synchronize()
        dt = (time.perf_counter() - t) / 10
        print(f"yolox fp16 eager batch {b}: {dt * 1e3:.2f} ms, {b / dt:.0f} img/s")
