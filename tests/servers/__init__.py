"""Start and stop real message brokers (Mosquitto, RabbitMQ, Redis, a Kafka-protocol broker) for tests."""
