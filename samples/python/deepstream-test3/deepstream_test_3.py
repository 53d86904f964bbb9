#!/usr/bin/env python3
# ruff: noqa: UP031, UP032 - written in the style of the DeepStream Python apps it mirrors
"""deepstream-test3 in the DeepStream Python apps style (``Gst``, ``GLib``, ``pyds`` from vistream.compat).

Several URIs (file://, rtsp://, http://) -> one source bin each (uridecodebin behind a ghost pad) ->
nvstreammux -> nvinfer (YOLOX) -> nvmultistreamtiler -> nvvideoconvert -> nvdsosd -> sink. For every frame of
every source it prints the object counts per class::

    python samples/python/deepstream-test3/deepstream_test_3.py \
        file://$PWD/samples/videos/traffic_overhead_640x360.mp4 file://$PWD/samples/videos/people_walkway_800x450.mp4
"""

import math
import sys
from pathlib import Path

from vistream.compat import GLib, Gst, pyds

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
# a batch waits this long for every source (a file source never stalls, so batches are always complete)
MUXER_BATCH_TIMEOUT_USEC = 4000000
TILED_OUTPUT_WIDTH = 1280
TILED_OUTPUT_HEIGHT = 720


def pgie_src_pad_buffer_probe(pad, info, u_data):
    gst_buffer = info.get_buffer()
    if gst_buffer is None:
        return Gst.PadProbeReturn.OK
    batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(gst_buffer))
    l_frame = batch_meta.frame_meta_list
    while l_frame is not None:
        frame_meta = pyds.NvDsFrameMeta.cast(l_frame.data)
        counts = {}
        l_obj = frame_meta.obj_meta_list
        while l_obj is not None:
            obj_meta = pyds.NvDsObjectMeta.cast(l_obj.data)
            counts[obj_meta.obj_label] = counts.get(obj_meta.obj_label, 0) + 1
            l_obj = l_obj.next
        per_class = " ".join(f"{label}={n}" for label, n in sorted(counts.items()))
        print("Frame Number={} Source={} Number of Objects={} {}".format(
            frame_meta.frame_num, frame_meta.pad_index, frame_meta.num_obj_meta, per_class).rstrip())
        l_frame = l_frame.next
    return Gst.PadProbeReturn.OK


def on_decoder_pad(decodebin, pad, source_bin):
    """Point the source bin's ghost pad at the decoder's video pad once the decoder has made it."""
    caps = pad.get_current_caps() or pad.query_caps()
    if not caps.get_structure(0).get_name().startswith("video/"):
        return  # audio and other streams stay unlinked
    if not caps.get_features(0).contains("memory:NVMM"):
        sys.stderr.write("%s: decoded video is not in device memory\n" % decodebin.get_name())
        return
    if not source_bin.get_static_pad("src").set_target(pad):
        sys.stderr.write("%s: cannot target the ghost pad at %s\n" % (source_bin.get_name(), pad.get_name()))


def make_source_bin(index, uri):
    """A bin holding one uridecodebin, with a ghost src pad targeted when the decoder adds its pad."""
    source_bin = Gst.Bin.new("source-bin-%02d" % index)
    decoder = Gst.ElementFactory.make("uridecodebin", "uri-decode-bin")
    if source_bin is None or decoder is None:
        return None
    decoder.set_property("uri", uri)
    decoder.connect("pad-added", on_decoder_pad, source_bin)
    Gst.Bin.add(source_bin, decoder)
    if not source_bin.add_pad(Gst.GhostPad.new_no_target("src", Gst.PadDirection.SRC)):
        return None
    return source_bin


def bus_call(bus, message, loop):
    t = message.type
    if t == Gst.MessageType.EOS:
        sys.stdout.write("End-of-stream\n")
        loop.quit()
    elif t == Gst.MessageType.WARNING:
        err, debug = message.parse_warning()
        sys.stderr.write("Warning: %s: %s\n" % (err, debug))
    elif t == Gst.MessageType.ERROR:
        err, debug = message.parse_error()
        sys.stderr.write("Error: %s: %s\n" % (err, debug))
        loop.quit()
    return True


def main(args):
    if len(args) < 2:
        sys.stderr.write("usage: %s <uri1> [uri2] ... [uriN]\n" % args[0])
        return 1
    uris = [a if "://" in a else Path(a).resolve().as_uri() for a in args[1:]]
    number_sources = len(uris)
    Gst.init(None)
    pipeline = Gst.Pipeline()
    streammux = Gst.ElementFactory.make("nvstreammux", "Stream-muxer")
    pipeline.add(streammux)
    for i, uri in enumerate(uris):
        source_bin = make_source_bin(i, uri)
        sinkpad = streammux.request_pad_simple("sink_%u" % i)
        if source_bin is None or sinkpad is None:
            sys.stderr.write("source %d (%s): could not make its bin or muxer pad\n" % (i, uri))
            return 1
        pipeline.add(source_bin)
        source_bin.get_static_pad("src").link(sinkpad)

    queue1 = Gst.ElementFactory.make("queue", "queue1")
    pgie = Gst.ElementFactory.make("nvinfer", "primary-inference")
    tiler = Gst.ElementFactory.make("nvmultistreamtiler", "nvtiler")
    nvvidconv = Gst.ElementFactory.make("nvvideoconvert", "convertor")
    nvosd = Gst.ElementFactory.make("nvdsosd", "onscreendisplay")
    sink = Gst.ElementFactory.make("nveglglessink", "nvvideo-renderer")
    streammux.set_property("width", 1280)
    streammux.set_property("height", 720)
    streammux.set_property("batch-size", number_sources)
    streammux.set_property("batched-push-timeout", MUXER_BATCH_TIMEOUT_USEC)
    pgie.set_property("config-file-path", str(CONFIGS / "config_infer_primary_yoloX.txt"))
    if pgie.get_property("batch-size") != number_sources:
        pgie.set_property("batch-size", number_sources)  # one inference per batch of all sources
    tiler_rows = int(math.sqrt(number_sources))
    tiler_columns = int(math.ceil((1.0 * number_sources) / tiler_rows))
    tiler.set_property("rows", tiler_rows)
    tiler.set_property("columns", tiler_columns)
    tiler.set_property("width", TILED_OUTPUT_WIDTH)
    tiler.set_property("height", TILED_OUTPUT_HEIGHT)
    nvosd.set_property("process-mode", 0)
    nvosd.set_property("display-text", 1)
    sink.set_property("qos", 0)

    for element in (queue1, pgie, tiler, nvvidconv, nvosd, sink):
        pipeline.add(element)
    streammux.link(queue1)
    queue1.link(pgie)
    pgie.link(tiler)
    tiler.link(nvvidconv)
    nvvidconv.link(nvosd)
    nvosd.link(sink)

    loop = GLib.MainLoop()
    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", bus_call, loop)
    pgie_src_pad = pgie.get_static_pad("src")
    pgie_src_pad.add_probe(Gst.PadProbeType.BUFFER, pgie_src_pad_buffer_probe, 0)

    print("Now playing...")
    for i, source in enumerate(uris):
        print(i, ": ", source)
    pipeline.set_state(Gst.State.PLAYING)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass
    pipeline.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
