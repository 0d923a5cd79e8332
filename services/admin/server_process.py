"""The ringside server binary as a child process, and HTTP clients for it, for tests that
run under Bazel with //services:server in their runfiles.

    server = Server("--incremental=false")       # HTTP and admin on free ports
    server = Server(admin=False, stderr=log)     # HTTP only; stderr to a file
    server = Server(metrics=True)                # and GET /metrics on server.metrics
    code, stderr = failed_start("--admin_address=0.0.0.0:0")   # a start that must fail
    sock = pipeline(server.http_port, 8)         # 8 pipelined requests, all answered
    ... grpc.insecure_channel(server.admin) ...
    assert server.stop() == 0                     # SIGTERM: a clean exit
"""

import os
import select
import signal
import socket
import subprocess
import time

RUNFILES = os.path.join(os.environ.get("TEST_SRCDIR", ""), os.environ.get("TEST_WORKSPACE", ""))
SERVER = os.path.join(RUNFILES, "services", "server")
PIPELINE_REQUEST = b"GET /pipeline HTTP/1.1\r\nHost: t\r\n\r\n"
TIMEOUT = 20


class Server:
    """The ringside server on free ports; `http_port`, `admin` and `metrics` (HOST:PORT) come
    from its listen lines."""

    def __init__(self, *flags, admin=True, metrics=False, stderr=subprocess.DEVNULL,
                 preexec_fn=None):
        admin_flag = "--admin_address=127.0.0.1:0" if admin else "--admin_address="
        metrics_flags = ["--metrics_address=127.0.0.1:0"] if metrics else []
        self.process = subprocess.Popen(
            [SERVER, "--port=0", admin_flag, *metrics_flags, "--reactors=2", *flags],
            stdout=subprocess.PIPE, stderr=stderr, preexec_fn=preexec_fn)
        self.http_port = None
        self.admin = None
        self.metrics = None
        # Unbuffered reads: a buffered readline could hold the second line while select()
        # waits on an empty pipe.
        output = b""
        deadline = time.monotonic() + TIMEOUT
        while output.count(b"\n") < 1 + admin + metrics:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.process.stdout], [], [], left)[0]:
                raise AssertionError("the server did not print its listening lines")
            chunk = os.read(self.process.stdout.fileno(), 4096)
            if not chunk:
                raise AssertionError("the server exited: %s" % self.process.wait())
            output += chunk
        # "listening on HOST:PORT (http)", "... (admin)", "... (metrics)"
        for line in output.decode().splitlines():
            _, _, address, kind = line.split()
            if kind == "(admin)":
                self.admin = address
            elif kind == "(metrics)":
                self.metrics = address
            else:
                self.http_port = int(address.rsplit(":", 1)[1])

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=TIMEOUT)
        self.process.stdout.close()
        return code


def failed_start(*flags):
    """Runs the server with `flags`, which must make it exit at start: (exit code, stderr),
    or (None, stderr) if it was still running after 10 s (it started instead; killed)."""
    process = subprocess.Popen(
        [SERVER, "--port=0", "--admin_address=127.0.0.1:0", "--reactors=1", *flags],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = process.communicate(timeout=10)
        return process.returncode, stderr
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        return None, stderr


def pipeline(port, depth):
    """Opens a connection, pipelines `depth` requests, reads every response; keeps it open."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock.sendall(PIPELINE_REQUEST * depth)
    received = b""
    while received.count(b"\r\n\r\nok") < depth:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("the server closed the connection")
        received += chunk
    return sock


def peer_name(sock):
    host, port = sock.getsockname()
    return "%s:%d" % (host, port)
