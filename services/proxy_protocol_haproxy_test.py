#!/usr/bin/python3
"""The PROXY protocol against the real server binary behind a real HAProxy (Debian's
haproxy), which the test starts with a generated configuration: one frontend sending
`send-proxy-v2`, one `send-proxy` (v1), on IPv4 and IPv6 loopback. The admin service must
show the test client's own address and port, not HAProxy's; requests through HAProxy must
be answered byte for byte as the server answers them directly; missing, malformed,
truncated and untrusted headers must close the connection without a byte, be counted by
reason, and be logged at most once per interval.

Runs under Bazel with //services:server and the admin stubs in its runfiles; every wait is
a condition with a deadline.
"""

import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

RUNFILES = os.path.join(os.environ.get("TEST_SRCDIR", ""), os.environ.get("TEST_WORKSPACE", ""))
sys.path.insert(0, RUNFILES)

import grpc  # noqa: E402
from services.admin import admin_pb2, admin_pb2_grpc  # noqa: E402
from services.admin.server_process import TIMEOUT, Server, failed_start  # noqa: E402

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
GET = b"GET /pipeline HTTP/1.1\r\nHost: t\r\n\r\n"


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def wait_for(condition, what):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)  # polling a condition, with a deadline
    raise AssertionError("timed out waiting for " + what)


def listening(port):
    """Whether a socket listens on `port` (/proc/net/tcp{,6}, state 0A). Unlike a probe
    connection, this sends HAProxy nothing it would forward to the server."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    return True
    return False


def read_response(sock, count=1):
    """Reads `count` whole responses (framed by Content-Length) and returns their bytes."""
    received = b""
    while True:
        at, complete = 0, 0
        while complete < count:
            head_end = received.find(b"\r\n\r\n", at)
            if head_end < 0:
                break
            head = received[at:head_end].decode("latin-1")
            length = int(head.split("Content-Length: ")[1].split("\r\n")[0])
            if len(received) < head_end + 4 + length:
                break
            at = head_end + 4 + length
            complete += 1
        if complete == count:
            assert at == len(received), "bytes after the responses"
            return received
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise AssertionError("closed after %d bytes: %r" % (len(received), received[-200:]))
        received += chunk


def without_date(response):
    """The response with its Date value, the only part that differs between two answers,
    blanked (same length)."""
    out = bytearray(response)
    at = 0
    while (at := out.find(b"\r\nDate: ", at)) >= 0:
        at += len(b"\r\nDate: ")
        end = out.find(b"\r\n", at)
        out[at:end] = b"x" * (end - at)
    return bytes(out)


def closed_without_a_byte(sock):
    sock.settimeout(TIMEOUT)
    try:
        return sock.recv(4096) == b""
    except ConnectionResetError:
        return True


class HAProxy:
    """haproxy -db with frontends on free ports forwarding to `server_port`."""

    def __init__(self, server_port, directory):
        self.v2 = free_port()
        self.v1 = free_port()
        self.v2_ipv6 = free_port(socket.AF_INET6, "::1") if ipv6_loopback() else None
        config = [
            "global", "  maxconn 256",
            "defaults", "  mode tcp", "  timeout connect 5s", "  timeout client 30s",
            "  timeout server 30s",
            "frontend v2", "  bind 127.0.0.1:%d" % self.v2,
        ]
        if self.v2_ipv6:
            config.append("  bind [::1]:%d" % self.v2_ipv6)
        config += [
            "  default_backend ringside_v2",
            "backend ringside_v2", "  server s 127.0.0.1:%d send-proxy-v2" % server_port,
            "frontend v1", "  bind 127.0.0.1:%d" % self.v1, "  default_backend ringside_v1",
            "backend ringside_v1", "  server s 127.0.0.1:%d send-proxy" % server_port,
        ]
        path = os.path.join(directory, "haproxy.cfg")
        with open(path, "w") as f:
            f.write("\n".join(config) + "\n")
        self.log = open(os.path.join(directory, "haproxy.log"), "w+")
        self.process = subprocess.Popen([HAPROXY, "-db", "-f", path],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        ports = [p for p in (self.v2, self.v1, self.v2_ipv6) if p]
        wait_for(lambda: self.process.poll() is not None or all(map(listening, ports)),
                 "haproxy to listen")
        if self.process.poll() is not None:
            self.log.seek(0)
            raise AssertionError("haproxy exited: " + self.log.read())

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=TIMEOUT)
        self.log.close()


@unittest.skipUnless(os.path.exists(HAPROXY), "haproxy is not installed (bazelw installs it)")
class BehindHAProxy(unittest.TestCase):
    MODE = ()  # the server's defaults: incremental rings, the app on the reactors

    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        cls.server_log = open(os.path.join(cls.directory, "server.log"), "w+")
        cls.server = Server("--proxy_protocol=any", "--proxy_trusted_networks=127.0.0.0/8",
                            "--header_timeout_ms=500", *cls.MODE, stderr=cls.server_log)
        cls.haproxy = HAProxy(cls.server.http_port, cls.directory)
        cls.channel = grpc.insecure_channel(cls.server.admin)
        cls.admin = admin_pb2_grpc.RingAdminStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.haproxy.stop()
        assert cls.server.stop() == 0
        cls.server_log.close()
        shutil.rmtree(cls.directory)

    def connections(self):
        listed = self.admin.ListConnections(
            admin_pb2.ListConnectionsRequest(max_results=1000), timeout=TIMEOUT)
        return list(listed.connections)

    def totals(self):
        stats = self.admin.GetServerStats(admin_pb2.GetServerStatsRequest(), timeout=TIMEOUT)
        fields = ("proxy_headers_accepted", "proxy_refused_untrusted", "proxy_refused_missing",
                  "proxy_refused_malformed", "proxy_refused_incomplete")
        return {f: sum(getattr(r, f) for r in stats.reactors) for f in fields}

    def check_client_is_the_peer(self, family, host, port, version, peer_format):
        with socket.socket(family, socket.SOCK_STREAM) as client:
            client.settimeout(TIMEOUT)
            client.connect((host, port))
            client.sendall(GET)
            self.assertTrue(read_response(client).endswith(b"\r\n\r\nok"))
            own = client.getsockname()
            expected = peer_format % (own[0], own[1])
            listed = [c for c in self.connections() if c.peer == expected]
            self.assertEqual(len(listed), 1, [(c.peer, c.socket_peer) for c in self.connections()])
            c = listed[0]
            self.assertEqual(c.proxy_version, version)
            self.assertTrue(c.socket_peer.startswith("127.0.0.1:"), c.socket_peer)
            self.assertNotEqual(c.socket_peer, expected)  # HAProxy's own connection
            self.assertEqual(c.requests, 1)
            detail = self.admin.GetConnection(
                admin_pb2.GetConnectionRequest(connection_id=c.connection_id),
                timeout=TIMEOUT).connection
            self.assertEqual((detail.peer, detail.socket_peer, detail.proxy_version),
                             (expected, c.socket_peer, version))

    def test_v2_admin_shows_the_client_not_haproxy(self):
        self.check_client_is_the_peer(socket.AF_INET, "127.0.0.1", self.haproxy.v2, 2, "%s:%d")

    def test_v2_over_ipv6_admin_shows_the_ipv6_client(self):
        if not self.haproxy.v2_ipv6:
            self.skipTest("no IPv6 loopback")
        self.check_client_is_the_peer(socket.AF_INET6, "::1", self.haproxy.v2_ipv6, 2,
                                      "[%s]:%d")

    def test_v1_admin_shows_the_client_not_haproxy(self):
        self.check_client_is_the_peer(socket.AF_INET, "127.0.0.1", self.haproxy.v1, 1, "%s:%d")

    def test_requests_through_haproxy_are_answered_byte_exact(self):
        body = random.Random(17).randbytes(300_000)
        requests = [
            GET,
            b"HEAD /json HTTP/1.1\r\nHost: t\r\n\r\n",
            b"OPTIONS /echo HTTP/1.1\r\nHost: t\r\n\r\n",
            b"GET /baseline11?a=40&b=2 HTTP/1.1\r\nHost: t\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body) + body,
            b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
        ]

        def answers(sock):
            # One at a time: a HEAD response has a Content-Length and no body.
            out = []
            for request in requests:
                sock.sendall(request)
                out.append(read_response_head_aware(sock, request.startswith(b"HEAD")))
            return out

        for port in (self.haproxy.v2, self.haproxy.v1):
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as proxied, \
                    socket.create_connection(("127.0.0.1", self.server.http_port),
                                             timeout=TIMEOUT) as direct:
                direct.sendall(b"PROXY TCP4 192.0.2.1 192.0.2.2 1234 80\r\n")
                through, reference = answers(proxied), answers(direct)
                self.assertEqual([without_date(r) for r in through],
                                 [without_date(r) for r in reference])
                self.assertTrue(through[4].endswith(b"\r\n\r\n" + body))

    def test_bad_headers_are_refused_counted_and_logged_once(self):
        before = self.totals()
        port = self.server.http_port
        cases = [
            (b"GET /pipeline HTTP/1.1\r\nHost: t\r\n\r\n", "proxy_refused_missing"),
            (b"PROXY TCP4 192.0.2.1 192.0.2.2 99999 80\r\n" + GET, "proxy_refused_malformed"),
            (b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x0f\xff", "proxy_refused_malformed"),
        ]
        for data, _ in cases:
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
                s.sendall(data)
                self.assertTrue(closed_without_a_byte(s), data)
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
            s.sendall(b"PROXY TCP4 192.0.2.1 192.0.2.2 12")  # truncated: then EOF
            s.shutdown(socket.SHUT_WR)
            self.assertTrue(closed_without_a_byte(s))
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
            s.sendall(b"\r\n\r\n\x00\r\nQU")  # truncated: then nothing (--header_timeout_ms)
            self.assertTrue(closed_without_a_byte(s))
        after = self.totals()
        self.assertEqual(after["proxy_refused_missing"] - before["proxy_refused_missing"], 1)
        self.assertEqual(after["proxy_refused_malformed"] - before["proxy_refused_malformed"], 2)
        self.assertEqual(after["proxy_refused_incomplete"] - before["proxy_refused_incomplete"],
                         2)
        self.assertEqual(after["proxy_headers_accepted"], before["proxy_headers_accepted"])
        self.server_log.seek(0)
        lines = [l for l in self.server_log.read().splitlines() if "PROXY protocol" in l]
        # Two reactors, each with its own interval log: at most one line each per 10 s.
        self.assertGreaterEqual(len(lines), 1)
        self.assertLessEqual(len(lines), 2, lines)


class BehindHAProxySharedRingsOnWorkers(BehindHAProxy):
    MODE = ("--incremental=false", "--handler_threads=2")


def read_response_head_aware(sock, head):
    if not head:
        return read_response(sock)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("closed")
        received += chunk
    return received


class UntrustedSource(unittest.TestCase):

    def test_a_source_outside_the_trusted_networks_is_refused(self):
        server = Server("--proxy_protocol=v1", "--proxy_trusted_networks=127.0.0.2/32")
        try:
            with socket.create_connection(("127.0.0.1", server.http_port), timeout=TIMEOUT) as s:
                s.sendall(b"PROXY TCP4 192.0.2.1 192.0.2.2 1234 80\r\n" + GET)
                self.assertTrue(closed_without_a_byte(s))
            with socket.create_connection(("127.0.0.1", server.http_port), timeout=TIMEOUT,
                                          source_address=("127.0.0.2", 0)) as s:
                s.sendall(b"PROXY TCP4 192.0.2.1 192.0.2.2 1234 80\r\n" + GET)
                self.assertTrue(read_response(s).endswith(b"\r\n\r\nok"))
            with grpc.insecure_channel(server.admin) as channel:
                stats = admin_pb2_grpc.RingAdminStub(channel).GetServerStats(
                    admin_pb2.GetServerStatsRequest(), timeout=TIMEOUT)
                self.assertEqual(sum(r.proxy_refused_untrusted for r in stats.reactors), 1)
                self.assertEqual(sum(r.proxy_headers_accepted for r in stats.reactors), 1)
        finally:
            self.assertEqual(server.stop(), 0)


class FlagValidation(unittest.TestCase):
    CASES = {
        ("--proxy_protocol=v3",): "--proxy_protocol must be off, v1, v2 or any, got v3",
        ("--proxy_protocol=v2",): "--proxy_protocol needs --proxy_trusted_networks",
        ("--proxy_trusted_networks=10.0.0.1/8",): "bits are set past the prefix",
        ("--proxy_trusted_networks=127.0.0.0/8,::1/200",): "the prefix must be 0..128",
    }

    def test_bad_values_are_refused_at_start(self):
        for flags, message in self.CASES.items():
            with self.subTest(flags=flags):
                code, err = failed_start(*flags)
                self.assertEqual(code, 2, err)
                self.assertIn(message, err)


if __name__ == "__main__":
    unittest.main()
