"""The gst-launch parser: valid strings build the right graph; invalid ones point at the token."""

from __future__ import annotations

from fractions import Fraction

import pytest

from vistream import LaunchError, parse_launch
from vistream.core.caps import Caps


def test_linear_chain_links_elements_in_order():
    p = parse_launch("videotestsrc num-buffers=3 ! queue ! fakesink")
    src, q, sink = p.elements
    assert src.srcpad.peer is q.sinkpad
    assert q.srcpad.peer is sink.sinkpad
    assert [e.name for e in p.elements] == [src.name, q.name, sink.name]


def test_forward_reference_to_request_pad_as_in_deepstream_samples(traffic_clip):
    p = parse_launch(f"filesrc location={traffic_clip} ! qtdemux ! h264parse ! nvv4l2decoder ! m.sink_0 "
                     "nvstreammux name=m batch-size=1 width=1280 height=720 ! fakesink")
    mux = p.get_by_name("m")
    assert "sink_0" in mux.pads
    assert mux.pads["sink_0"].peer.parent.factory_name == "nvv4l2decoder"
    assert mux.get_property("width") == 1280 and mux.props.height == 720


def test_property_types_are_converted():
    p = parse_launch('videotestsrc num-buffers=7 pattern=snow is-live=true ! queue leaky=downstream '
                     'max-size-buffers=0x10 ! fakesink sync=1 name="my sink"')
    src, q, sink = p.elements
    assert src.get_property("num-buffers") == 7
    assert src.get_property("pattern") == 1
    assert src.get_property("is-live") is True
    assert q.get_property("leaky") == 2 and q.get_property("max-size-buffers") == 16
    assert sink.name == "my sink" and sink.get_property("sync") is True


def test_caps_filter_with_features_and_spaces():
    p = parse_launch("videotestsrc ! video/x-raw(memory:NVMM), format=RGBA, width=640, height=480, "
                     "framerate=15/1 ! fakesink")
    cf = next(e for e in p.elements if e.factory_name == "capsfilter")
    caps: Caps = cf.get_property("caps")
    assert cf.factory_name == "capsfilter"
    assert caps.media_type == "video/x-raw" and caps.is_nvmm
    assert caps["format"] == "RGBA" and caps["width"] == 640 and caps["framerate"] == Fraction(15, 1)


def test_tee_branches_get_request_pads():
    p = parse_launch("videotestsrc num-buffers=2 ! tee name=t t. ! queue ! fakesink t. ! queue ! fakesink")
    tee = p.get_by_name("t")
    assert sorted(tee.pads) == ["sink", "src_0", "src_1"]
    assert all(pad.peer is not None for pad in tee.src_pads)


def test_quoted_values_keep_spaces_and_bangs():
    p = parse_launch('filesrc location="my dir/a!b.mp4" ! fakesink')
    assert p.elements[0].get_property("location") == "my dir/a!b.mp4"


@pytest.mark.parametrize(
    "text, reason, token",
    [
        ("videotestsrc ! nvstreamux ! fakesink", 'no element "nvstreamux" (did you mean "nvstreammux"?)', "nvstreamux"),
        ("videotestsrc num-bufers=3 ! fakesink", 'no property "num-bufers"', "num-bufers=3"),
        ("videotestsrc num-buffers=ten ! fakesink", "expected an integer", "num-buffers=ten"),
        ("videotestsrc pattern=plaid ! fakesink", "expected one of", "pattern=plaid"),
        ("videotestsrc is-live=maybe ! fakesink", "expected true or false", "is-live=maybe"),
        ("nvstreammux batch-size=0 ! fakesink", "out of range 1..1024", "batch-size=0"),
        ("videotestsrc ! ! fakesink", "link without source element", "!"),
        ("videotestsrc !", "link without sink element", "!"),
        ("videotestsrc ! x.sink_0", 'no element named "x"', "x.sink_0"),
        ('filesrc location="unterminated ! fakesink', "unterminated quoted string", '"unterminated ! fakesink'),
    ],
)
def test_invalid_strings_point_at_the_token(text, reason, token):
    with pytest.raises(LaunchError) as info:
        parse_launch(text)
    err = info.value
    assert reason in str(err)
    assert text[err.start:err.end] == token
    # the message quotes the string and draws a pointer under the token
    lines = str(err).splitlines()
    assert lines[1].strip() == text
    assert lines[2].index("^") - 2 == err.start


def test_linking_incompatible_pads_is_an_error():
    with pytest.raises(LaunchError) as info:
        parse_launch("videotestsrc ! mp4mux ! fakesink")
    assert "could not link" in str(info.value)


def test_unlinked_pad_fails_at_start():
    p = parse_launch("videotestsrc num-buffers=1 ! tee name=t fakesink")
    from vistream import MessageType, State, StateChangeReturn

    assert p.set_state(State.PLAYING) == StateChangeReturn.FAILURE
    msg = p.bus.timed_pop_filtered(1, MessageType.ERROR)
    assert msg is not None and "is not linked" in str(msg.parse_error()[0])
    assert "fakesink" in str(msg.parse_error()[0])
