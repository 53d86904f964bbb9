"""Messaging: ``nvmsgconv`` (:class:`MsgConverter`) and ``nvmsgbroker`` (:class:`MsgBroker`) as libraries.

::

    from vistream.msg import MsgConverter, MsgBroker
    conv = MsgConverter(config="msgconv_config.txt", payload_type=0)
    broker = MsgBroker("libnvds_kafka_proto.so", "localhost;9092", topic="ds-events")
    conv.process(batch_meta)        # EventMsgMeta -> JSON payloads attached to the frames
    broker.process(batch_meta)      # payloads -> durable spool -> broker (background, at-least-once)
"""

from vistream.meta.event import (
    EventMsgMeta,
    EventType,
    FaceObject,
    ObjectType,
    PersonObject,
    VehicleObject,
    attach_event_msg,
    event_msgs,
)
from vistream.msg.adapters import (
    Adapter,
    AdapterError,
    ConnInfo,
    parse_conn_str,
    register_adapter,
    resolve_adapter,
)
from vistream.msg.broker import BrokerStats, MsgBroker
from vistream.msg.config import AdapterConfig, ConfigError, MsgConvConfig
from vistream.msg.consumer import Command, ConsumerSpec, MsgConsumer, consumer_specs, parse_command
from vistream.msg.converter import MsgConverter, Payload, PayloadType, payloads_of
from vistream.msg.schema import MsgConvError, validate
from vistream.msg.spool import Spool

__all__ = [
    "Adapter", "AdapterConfig", "AdapterError", "BrokerStats", "Command", "ConfigError", "ConnInfo", "ConsumerSpec",
    "EventMsgMeta", "EventType", "FaceObject", "MsgBroker", "MsgConsumer", "MsgConvConfig", "MsgConvError",
    "MsgConverter", "ObjectType", "Payload", "PayloadType", "PersonObject", "Spool", "VehicleObject",
    "attach_event_msg", "consumer_specs", "event_msgs", "parse_command", "parse_conn_str", "payloads_of",
    "register_adapter", "resolve_adapter", "validate",
]
