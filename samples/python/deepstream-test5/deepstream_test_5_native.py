#!/usr/bin/env python3
"""deepstream-test5 equivalent with vistream's own API: the same pipeline, messages and output as
``deepstream_test_5.py``.

    python samples/python/deepstream-test5/deepstream_test_5_native.py -p mqtt --conn-str "localhost;1883" -t test5 \
        samples/videos/traffic_overhead_640x360.mp4 samples/videos/people_walkway_800x450.mp4
"""

import argparse
import math
import sys
from pathlib import Path

import vistream
from vistream import PadProbeReturn, PadProbeType
from vistream.meta import get_batch_meta

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def print_sent(pad, info, interval):
    for frame_meta in get_batch_meta(info.get_buffer()).frame_meta_list:
        if frame_meta.frame_num % interval == 0:
            objects = ", ".join(f"{o.object_id}:{o.obj_label}" for o in frame_meta.obj_meta_list)
            print(f"Frame Number={frame_meta.frame_num} Source={frame_meta.source_id} sent objects=[{objects}]")
    return PadProbeReturn.OK


def main(args):
    parser = argparse.ArgumentParser(prog=args[0], description="deepstream-test5: tracked objects to a broker")
    parser.add_argument("uris", nargs="+", help="files or URIs (file://, rtsp://, http://)")
    parser.add_argument("-p", "--proto-lib", required=True, help="kafka, mqtt, amqp, redis, or module:Class")
    parser.add_argument("--conn-str", required=True, help='connection string "host;port[;topic]"')
    parser.add_argument("-t", "--topic", default=None, help="topic to publish to")
    parser.add_argument("-c", "--cfg-file", default=None, help="adapter configuration file")
    parser.add_argument("-s", "--schema-type", type=int, default=0, help="0: full DeepStream schema, 1: minimal")
    parser.add_argument("--frame-interval", type=int, default=30, help="send every N frames of each source")
    opts = parser.parse_args(args[1:])
    uris = [a if "://" in a else Path(a).resolve().as_uri() for a in opts.uris]
    n = len(uris)
    rows = int(math.sqrt(n))
    sources = " ".join(f'nvurisrcbin uri="{uri}" ! m.sink_{i}' for i, uri in enumerate(uris))
    broker = f'proto-lib="{opts.proto_lib}" conn-str="{opts.conn_str}"'
    broker += f' topic="{opts.topic}"' if opts.topic else ""
    broker += f' config="{opts.cfg_file}"' if opts.cfg_file else ""
    pipeline = vistream.parse_launch(
        f"{sources} nvstreammux name=m batch-size={n} width=1280 height=720 batched-push-timeout=4000000 ! "
        f'nvinfer batch-size={n} config-file-path="{CONFIGS / "config_infer_primary_yoloX.txt"}" ! '
        f'nvtracker ll-config-file="{CONFIGS / "tracker" / "config_tracker_IOU.yml"}" ! tee name=t '
        f't. ! queue ! nvmsgconv name=conv config="{CONFIGS / "msgconv" / "msgconv_config.txt"}" '
        f"payload-type={opts.schema_type} msg2p-newapi=1 frame-interval={opts.frame_interval} ! "
        f"nvmsgbroker {broker} sync=0 "
        f"t. ! queue ! nvmultistreamtiler rows={rows} columns={math.ceil(n / rows)} width=1280 height=720 ! "
        "nvvideoconvert ! nvdsosd ! nveglglessink")
    pipeline["conv"].get_static_pad("sink").add_probe(PadProbeType.BUFFER, print_sent, opts.frame_interval)
    try:
        pipeline.run()
    except vistream.PipelineError as e:
        sys.stderr.write(f"Error: {e}\n")
        return 1
    print("End-of-stream")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
