#!/usr/bin/env python3
# ruff: noqa: UP031, UP032 - written in the style of the DeepStream Python apps it mirrors
"""deepstream-test2 in the DeepStream Python apps style (``Gst``, ``GLib``, ``pyds`` from vistream.compat).

file -> h264parse -> decoder -> nvstreammux -> nvinfer (YOLOX) -> nvtracker (IOU) -> nvinfer (vehicle classifier
on car/bus/truck) -> nvinfer (face detector on persons) -> nvvideoconvert -> nvdsosd -> sink.

Per frame it prints the object counts per class, then each classified vehicle with its track id and label, and
the tracker's past-frame data (the frames a target spent in probation before it was reported)::

    python samples/python/deepstream-test2/deepstream_test_2.py samples/videos/traffic_overhead_640x360.h264
"""

import sys
from pathlib import Path

from vistream.compat import GLib, Gst, pyds

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
past_tracking_meta = [1]


def osd_sink_pad_buffer_probe(pad, info, u_data):
    gst_buffer = info.get_buffer()
    if gst_buffer is None:
        return Gst.PadProbeReturn.OK
    batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(gst_buffer))
    l_frame = batch_meta.frame_meta_list
    while l_frame is not None:
        frame_meta = pyds.NvDsFrameMeta.cast(l_frame.data)
        counts = {}
        classified = []
        l_obj = frame_meta.obj_meta_list
        while l_obj is not None:
            obj_meta = pyds.NvDsObjectMeta.cast(l_obj.data)
            counts[obj_meta.obj_label] = counts.get(obj_meta.obj_label, 0) + 1
            l_class = obj_meta.classifier_meta_list
            while l_class is not None:
                class_meta = pyds.NvDsClassifierMeta.cast(l_class.data)
                l_label = class_meta.label_info_list
                while l_label is not None:
                    label_info = pyds.NvDsLabelInfo.cast(l_label.data)
                    classified.append("  Object {} {}: {}={} ({:.2f})".format(
                        obj_meta.object_id, obj_meta.obj_label, class_meta.classifier_type,
                        label_info.result_label, label_info.result_prob))
                    l_label = l_label.next
                l_class = l_class.next
            l_obj = l_obj.next

        display_meta = pyds.nvds_acquire_display_meta_from_pool(batch_meta)
        display_meta.num_labels = 1
        py_nvosd_text_params = display_meta.text_params[0]
        per_class = " ".join(f"{label}={n}" for label, n in sorted(counts.items()))
        py_nvosd_text_params.display_text = "Frame Number={} Number of Objects={} {}".format(
            frame_meta.frame_num, frame_meta.num_obj_meta, per_class).rstrip()
        py_nvosd_text_params.x_offset = 10
        py_nvosd_text_params.y_offset = 12
        py_nvosd_text_params.font_params.font_name = "Serif"
        py_nvosd_text_params.font_params.font_size = 10
        py_nvosd_text_params.font_params.font_color.set(1.0, 1.0, 1.0, 1.0)
        py_nvosd_text_params.set_bg_clr = 1
        py_nvosd_text_params.text_bg_clr.set(0.0, 0.0, 0.0, 1.0)
        print(pyds.get_string(py_nvosd_text_params.display_text))
        for line in classified:
            print(line)
        pyds.nvds_add_display_meta_to_frame(frame_meta, display_meta)
        l_frame = l_frame.next

    # past-frame data of the tracker, attached to the batch
    if past_tracking_meta[0] == 1:
        l_user = batch_meta.batch_user_meta_list
        while l_user is not None:
            user_meta = pyds.NvDsUserMeta.cast(l_user.data)
            if user_meta and user_meta.base_meta.meta_type == pyds.NvDsMetaType.NVDS_TRACKER_PAST_FRAME_META:
                p_past_frame_obj_batch = pyds.NvDsPastFrameObjBatch.cast(user_meta.user_meta_data)
                for trackobj in pyds.NvDsPastFrameObjBatch.list(p_past_frame_obj_batch):
                    for pastframeobj in pyds.NvDsPastFrameObjStream.list(trackobj):
                        frames = [o.frameNum for o in pyds.NvDsPastFrameObjList.list(pastframeobj)]
                        print("  Past frames streamId={} uniqueId={} classId={} objLabel={} numobj={} frameNum={}".format(
                            trackobj.streamID, pastframeobj.uniqueId, pastframeobj.classId, pastframeobj.objLabel,
                            pastframeobj.numObj, frames))
            l_user = l_user.next
    return Gst.PadProbeReturn.OK


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
    if len(args) != 2:
        sys.stderr.write("usage: %s <H264 elementary stream or MP4 file>\n" % args[0])
        return 1
    Gst.init(None)
    pipeline = Gst.Pipeline()
    source = Gst.ElementFactory.make("filesrc", "file-source")
    demux = Gst.ElementFactory.make("qtdemux", "demux") if args[1].endswith((".mp4", ".mov")) else None
    h264parser = Gst.ElementFactory.make("h264parse", "h264-parser")
    decoder = Gst.ElementFactory.make("nvv4l2decoder", "nvv4l2-decoder")
    streammux = Gst.ElementFactory.make("nvstreammux", "Stream-muxer")
    pgie = Gst.ElementFactory.make("nvinfer", "primary-inference")
    tracker = Gst.ElementFactory.make("nvtracker", "tracker")
    sgie1 = Gst.ElementFactory.make("nvinfer", "secondary1-nvinference-engine")
    sgie2 = Gst.ElementFactory.make("nvinfer", "secondary2-nvinference-engine")
    nvvidconv = Gst.ElementFactory.make("nvvideoconvert", "convertor")
    nvosd = Gst.ElementFactory.make("nvdsosd", "onscreendisplay")
    sink = Gst.ElementFactory.make("nveglglessink", "nvvideo-renderer")
    elements = [source, demux, h264parser, decoder, streammux, pgie, tracker, sgie1, sgie2, nvvidconv, nvosd, sink]
    if any(e is None for e in elements if e is not demux):
        sys.stderr.write("could not make every element\n")
        return 1

    source.set_property("location", args[1])
    streammux.set_property("width", 1280)
    streammux.set_property("height", 720)
    streammux.set_property("batch-size", 1)
    streammux.set_property("batched-push-timeout", 33000)
    pgie.set_property("config-file-path", str(CONFIGS / "config_infer_primary_yoloX.txt"))
    sgie1.set_property("config-file-path", str(CONFIGS / "config_infer_secondary_vehicle_classifier.txt"))
    sgie2.set_property("config-file-path", str(CONFIGS / "config_infer_secondary_facedetect.txt"))
    tracker.set_property("tracker-width", 640)
    tracker.set_property("tracker-height", 384)
    tracker.set_property("ll-lib-file", "/opt/nvidia/deepstream/deepstream/lib/libnvds_nvmultiobjecttracker.so")
    tracker.set_property("ll-config-file", str(CONFIGS / "tracker" / "config_tracker_IOU.yml"))
    tracker.set_property("enable-past-frame", 1)

    for element in elements:
        if element is not None:
            pipeline.add(element)
    if demux is not None:
        source.link(demux)
        demux.link(h264parser)
    else:
        source.link(h264parser)
    h264parser.link(decoder)
    decoder.get_static_pad("src").link(streammux.get_request_pad("sink_0"))  # the older spelling
    streammux.link(pgie)
    pgie.link(tracker)
    tracker.link(sgie1)
    sgie1.link(sgie2)
    sgie2.link(nvvidconv)
    nvvidconv.link(nvosd)
    nvosd.link(sink)

    loop = GLib.MainLoop()
    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", bus_call, loop)
    nvosd.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, osd_sink_pad_buffer_probe, 0)

    pipeline.set_state(Gst.State.PLAYING)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass
    pipeline.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
