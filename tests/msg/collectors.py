"""Independent consumers (plain client libraries, not vistream's adapters) that record what a broker delivers.

Each collector subscribes before the test publishes, reconnects by itself after a broker outage, and keeps
every payload it received (duplicates included) in ``payloads``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid


class Collector:
    protocol = ""

    def __init__(self, port: int, topic: str) -> None:
        self.port, self.topic = port, topic
        self.payloads: list[bytes] = []
        self.ready = threading.Event()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self, timeout: float = 20.0) -> Collector:
        self._thread.start()
        if not self.ready.wait(timeout):
            self.close()
            raise TimeoutError(f"{self.protocol} collector did not subscribe within {timeout} s")
        return self

    def _add(self, payload: bytes) -> None:
        with self._lock:
            self.payloads.append(bytes(payload))

    def count(self) -> int:
        with self._lock:
            return len(self.payloads)

    def wait_for(self, pred, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred(self):
                return True
            time.sleep(0.05)
        return pred(self)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._consume()
            except Exception:  # noqa: BLE001 - broker down: try again
                time.sleep(0.2)


class MqttCollector(Collector):
    """A persistent (clean_session=False) QoS 1 subscriber: the broker queues for it during its restarts."""

    protocol = "mqtt"

    def _consume(self) -> None:
        import paho.mqtt.client as mqtt

        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"collector-{uuid.uuid4().hex[:8]}",
                        clean_session=False)
        lost = threading.Event()

        def on_connect(client, u, flags, rc, p=None):
            client.subscribe(self.topic, qos=1)

        c.on_connect = on_connect
        c.on_subscribe = lambda *a: self.ready.set()
        c.on_message = lambda client, u, msg: self._add(msg.payload)
        c.on_disconnect = lambda *a: lost.set()
        c.reconnect_delay_set(0.1, 0.5)
        c.connect("127.0.0.1", self.port, keepalive=10)
        c.loop_start()
        try:
            # paho reconnects (same client id, so the broker resumes the session) by itself
            self._stop.wait()
        finally:
            c.disconnect()
            c.loop_stop()


class AmqpCollector(Collector):
    """A durable queue bound to ``amq.topic`` with the topic as routing key; acks after recording."""

    protocol = "amqp"

    def __init__(self, port: int, topic: str) -> None:
        super().__init__(port, topic)
        self.queue = f"collector-{uuid.uuid4().hex[:8]}"

    def _consume(self) -> None:
        import pika

        conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", self.port, connection_attempts=1))
        try:
            ch = conn.channel()
            ch.queue_declare(self.queue, durable=True)
            ch.queue_bind(self.queue, "amq.topic", routing_key=self.topic)
            ch.basic_qos(prefetch_count=500)

            def on_msg(c, method, props, body):
                self._add(body)
                c.basic_ack(method.delivery_tag)

            ch.basic_consume(self.queue, on_msg)
            self.ready.set()
            while not self._stop.is_set():
                conn.process_data_events(time_limit=0.1)
        finally:
            if conn.is_open:
                conn.close()


class RedisCollector(Collector):
    """XREAD from the start of the stream, remembering the last entry id across reconnects."""

    protocol = "redis"
    payload_key = b"metadata"

    def __init__(self, port: int, topic: str) -> None:
        super().__init__(port, topic)
        self.last = "0"

    def _consume(self) -> None:
        import redis

        r = redis.Redis("127.0.0.1", self.port, socket_timeout=2)
        try:
            r.ping()
            self.ready.set()
            while not self._stop.is_set():
                for _stream, items in r.xread({self.topic: self.last}, count=500, block=100) or []:
                    for entry_id, fields in items:
                        self._add(fields[self.payload_key])
                        self.last = entry_id
        finally:
            r.close()


class KafkaCollector(Collector):
    """A consumer group member reading from the earliest offset; ``partitions`` maps key -> partitions seen."""

    protocol = "kafka"

    def __init__(self, port: int, topic: str) -> None:
        super().__init__(port, topic)
        self.partitions: dict[bytes, set[int]] = {}

    def _consume(self) -> None:
        from confluent_kafka import Consumer, KafkaError, KafkaException
        from confluent_kafka.admin import AdminClient, NewTopic

        quiet = logging.getLogger("tests.kafka-collector")
        quiet.setLevel(logging.CRITICAL)
        # an existing topic gets the subscription assigned at once (a missing one only once produced to)
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{self.port}", "logger": quiet})
        try:
            admin.create_topics([NewTopic(self.topic, num_partitions=4, replication_factor=1)])[self.topic].result(5)
        except KafkaException as e:
            if "TOPIC_ALREADY_EXISTS" not in str(e):
                raise
        restarted = threading.Event()

        def on_error(err):
            # Tansu keeps its log in memory: after a restart offsets start again at 0, so the old positions
            # would skip the new messages; a fresh group (earliest) re-reads the new log from the start
            if err.code() in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT):
                restarted.set()

        c = Consumer({"logger": quiet, "error_cb": on_error, "bootstrap.servers": f"127.0.0.1:{self.port}",
                      "group.id": f"g-{uuid.uuid4().hex[:8]}",
                      "auto.offset.reset": "earliest", "session.timeout.ms": 1000, "heartbeat.interval.ms": 100,
                      "topic.metadata.refresh.interval.ms": 500, "reconnect.backoff.max.ms": 200})
        c.subscribe([self.topic], on_assign=lambda consumer, parts: self.ready.set())
        try:
            while not self._stop.is_set() and not restarted.is_set():
                m = c.poll(0.1)
                if m is None or m.error():
                    continue
                self._add(m.value())
                with self._lock:
                    self.partitions.setdefault(m.key(), set()).add(m.partition())
        finally:
            c.close()


PROTOCOLS = ("mqtt", "redis", "kafka", "amqp")  # amqp last: RabbitMQ boots slowest
COLLECTORS = {"mqtt": MqttCollector, "amqp": AmqpCollector, "redis": RedisCollector, "kafka": KafkaCollector}
