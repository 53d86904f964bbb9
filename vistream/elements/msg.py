"""nvmsgconv and nvmsgbroker: DeepStream event messages as JSON, delivered at least once to a broker."""

from __future__ import annotations

from vistream.core.buffer import Buffer, FlowReturn
from vistream.core.element import Element, register
from vistream.core.errors import ElementError
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.basesink import BaseSink

_RAW = (PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, "video/x-raw"),
        PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "video/x-raw"))


@register
class NvMsgConv(Element):
    """Converts event metadata (``EventMsgMeta`` attached by probes or analytics) — or, with
    ``msg2p-newapi``, object metadata — into DeepStream-schema JSON payloads attached to the frames."""

    FACTORY = "nvmsgconv"
    KLASS = "Filter/Metadata"
    DESCRIPTION = "Transforms metadata into DeepStream schema payloads"
    PAD_TEMPLATES = _RAW
    PROPERTIES = (
        Property.string("config", None, "Message converter configuration file ([sensorN], [placeN], [analyticsN])"),
        Property.uint("payload-type", 0, "Payload schema: 0 full DeepStream schema, 1 minimal, >= 256 custom"),
        Property.string("msg2p-lib", None, "Python module (or module:function, or .py file) of a custom payload builder"),
        Property.uint("comp-id", 0, "Convert only event meta of this component id (0 = all)"),
        Property.uint("frame-interval", 30, "New API: one message every N frames per source", 1),
        Property.uint("msg-conv-frequency", 0, "Alias of frame-interval (0 = use frame-interval)"),
        Property.bool("msg2p-newapi", False, "Build messages straight from object metadata (no event meta needed)"),
        Property.bool("multiple-payloads", False, "A custom builder may return several payloads"),
        Property.string("debug-payload-dir", None, "Directory where every payload is also written as a JSON file"),
    )

    def start(self) -> None:
        from vistream.msg import MsgConverter

        p = self._props
        try:
            self.converter = MsgConverter(
                config=p["config"], payload_type=p["payload-type"], msg2p_lib=p["msg2p-lib"], comp_id=p["comp-id"],
                frame_interval=p["msg-conv-frequency"] or p["frame-interval"], msg2p_newapi=p["msg2p-newapi"],
                multiple_payloads=p["multiple-payloads"], debug_payload_dir=p["debug-payload-dir"])
        except (ValueError, OSError, ImportError) as e:
            raise ElementError(str(e), self.name) from None

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        if buffer.batch_meta is not None:
            self.converter.process(buffer.batch_meta)
        return self.push(buffer)


@register
class NvMsgBroker(BaseSink):
    """Sends the payloads ``nvmsgconv`` attached to a broker (Kafka, MQTT, AMQP, Redis, or a Python adapter).
    Messages go to a durable local spool first and are removed only when the broker acknowledged them;
    the pipeline never waits for the broker."""

    FACTORY = "nvmsgbroker"
    KLASS = "Sink/Metadata"
    DESCRIPTION = "Sends payload metadata to a remote server"
    PAD_TEMPLATES = (PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, "ANY"),)
    PROPERTIES = (
        Property.string("proto-lib", None, "Protocol adapter: kafka, mqtt, amqp, redis, DeepStream's "
                        "libnvds_*_proto.so names, or module:Class"),
        Property.string("conn-str", None, "Connection string: host;port[;topic]"),
        Property.string("topic", None, "Topic to publish to"),
        Property.string("config", None, "Adapter configuration file"),
        Property.uint("comp-id", 0, "Send only payloads of this component id (0 = all)"),
        Property.bool("new-api", False, "Use the new message API (accepted; one delivery path)"),
        Property.string("spool-path", None, "SQLite spool file (default: $XDG_STATE_HOME/vistream/spool/, i.e. ~/.local/state/vistream/spool/)"),
        Property.uint("spool-max-messages", 0, "Spool size bound (0 = the adapter config's, default 100000)"),
        Property.enum("spool-overflow", 0, "What a full spool drops",
                      [(0, "drop-oldest", "Drop the oldest message"), (1, "drop-newest", "Refuse the new message")]),
        Property.uint("flush-timeout-ms", 5000, "At EOS, wait this long for pending messages to be sent"),
    )

    def start(self) -> None:
        from vistream.msg import MsgBroker

        p = self._props
        if not p["proto-lib"]:
            raise ElementError('property "proto-lib" is not set', self.name)
        try:
            self.broker = MsgBroker(p["proto-lib"], p["conn-str"] or "", topic=p["topic"], config=p["config"],
                                    sync=p["sync"], comp_id=p["comp-id"], new_api=p["new-api"],
                                    spool_path=p["spool-path"], spool_max_messages=p["spool-max-messages"] or None,
                                    spool_overflow=(None if "spool-overflow" not in self._set_props else
                                                    ("drop-oldest", "drop-newest")[p["spool-overflow"]]))
        except (ValueError, OSError, ImportError, RuntimeError) as e:
            raise ElementError(str(e), self.name) from None

    def render(self, buffer: Buffer) -> FlowReturn | None:
        if buffer.batch_meta is not None:
            self.broker.process(buffer.batch_meta)
        return FlowReturn.OK

    def on_eos(self, pad: Pad) -> None:
        self.broker.flush(self._props["flush-timeout-ms"] / 1000)

    def stop(self) -> None:
        broker = getattr(self, "broker", None)
        if broker is not None:
            broker.close(timeout=1.0)
            if broker.stats.last_error:
                self.post_warning(f"broker: {broker.stats.last_error}; {broker.stats.pending} message(s) kept "
                                  "in the spool for the next run")
