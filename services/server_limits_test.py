#!/usr/bin/python3
"""Operating limits of the server binary, tried from outside as a careless operator or a
hostile client would: bad flag values, a port another process holds, SIGPIPE, a second
signal, and a file-descriptor limit far below the connection limit.

Runs under Bazel with //services:server in its runfiles.
"""

import os
import resource
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

RUNFILES = os.path.join(os.environ.get("TEST_SRCDIR", ""), os.environ.get("TEST_WORKSPACE", ""))
sys.path.insert(0, RUNFILES)

from services.admin.server_process import (  # noqa: E402
    PIPELINE_REQUEST, TIMEOUT, Server, failed_start)


def cpu_seconds(pid):
    """User plus system CPU time of a process, from /proc."""
    with open("/proc/%d/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class FlagValidation(unittest.TestCase):
    # Each of these used to start a server that hung requests, served almost no one, or
    # treated -1 as unlimited.
    CASES = {
        "--conn_ring_entries=1": "--conn_ring_entries must be a power of two in [2, 32768], got 1",
        "--ring_entries=1": "--ring_entries must be a power of two in [16, 32768], got 1",
        "--conn_ring_entries=32768": "--buffer_budget_mb=4096 holds only 8 connection rings",
        "--conn_ring_entries=2": "--conn_ring_entries x --buffer_size = 32768 bytes cannot hold",
        "--max_body=-1": "--max_body must be in [0, 1099511627776], got -1",
        "--max_header_bytes=-1": "--max_header_bytes must be in [64, 1048576], got -1",
        "--shutdown_timeout_ms=-1": "--shutdown_timeout_ms must be in [0, 3600000], got -1",
        "--max_connections=0": "--max_connections must be in [1, 100000000], got 0",
        "--idle_timeout_ms=-5": "--idle_timeout_ms must be in [0, 86400000], got -5",
        "--buffer_size=0": "--buffer_size must be in [1024, 1048576], got 0",
        "--output_high_water=0": "--output_high_water must be in [1024, 1073741824], got 0",
        "--handler_threads=-1": "--handler_threads must be in [0, 1024], got -1",
        "--body_timeout_ms=-1": "--body_timeout_ms must be in [0, 86400000], got -1",
        "--body_min_rate=-1": "--body_min_rate must be in [0, 1073741824], got -1",
    }

    def test_each_bad_value_is_refused_naming_the_flag_and_its_range(self):
        for flag, message in self.CASES.items():
            with self.subTest(flag=flag):
                code, err = failed_start("--port=0", flag)
                self.assertIsNotNone(code, "the server started with %s" % flag)
                self.assertEqual(code, 2, err)
                self.assertIn(message, err)

    def test_every_bad_flag_is_reported_at_once(self):
        code, err = failed_start("--port=0", "--max_body=-1", "--reactors=0", "--port=70000")
        self.assertEqual(code, 2, err)
        for flag in ("--max_body", "--reactors", "--port"):
            self.assertIn(flag + " must be in", err)


class PortOwnership(unittest.TestCase):
    def test_a_port_another_process_holds_is_an_error(self):
        first = Server(admin=False)
        try:
            code, err = failed_start("--port=%d" % first.http_port)
            self.assertEqual(code, 2, "a second server started on the first one's port")
            self.assertIn("holds the port", err)
            self.assertIn("--reuse_port", err)
        finally:
            self.assertEqual(first.stop(), 0)

    def test_with_reuse_port_a_second_process_shares_the_port(self):
        first = Server("--reuse_port", admin=False)
        try:
            second = Server("--reuse_port", "--port=%d" % first.http_port, admin=False)
            self.assertEqual(second.http_port, first.http_port)
            self.assertEqual(second.stop(), 0)
        finally:
            self.assertEqual(first.stop(), 0)


class Signals(unittest.TestCase):
    def test_a_closed_stderr_pipe_does_not_kill_the_server(self):
        read_end, write_end = os.pipe()
        server = Server(admin=False, stderr=write_end)
        os.close(write_end)
        os.close(read_end)  # the log reader left; the shutdown line hits EPIPE
        self.assertEqual(server.stop(), 0)

    def test_a_second_signal_exits_at_once(self):
        server = Server("--shutdown_timeout_ms=60000", admin=False)
        # A client that pipelines and never reads: its responses keep the shutdown waiting
        # for the whole shutdown timeout.
        client = socket.create_connection(("127.0.0.1", server.http_port), timeout=TIMEOUT)
        client.setblocking(False)
        batch = PIPELINE_REQUEST * 4096
        stalled_since = None
        while stalled_since is None or time.monotonic() - stalled_since < 0.5:
            try:
                client.send(batch)
                stalled_since = None
            except BlockingIOError:
                stalled_since = stalled_since or time.monotonic()
                select.select([], [client], [], 0.1)
        server.process.send_signal(signal.SIGTERM)
        with self.assertRaises(subprocess.TimeoutExpired):
            server.process.wait(timeout=1)  # draining: it waits for the client
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        self.assertEqual(server.process.wait(timeout=5), -signal.SIGTERM)
        self.assertLess(time.monotonic() - started, 5)
        client.close()
        server.process.stdout.close()


class FileDescriptorLimit(unittest.TestCase):
    # A burst of connections can run the server out of descriptors for a moment (a
    # multishot accept takes several before the reactor closes the refused ones; the
    # listener then backs off). UBSan's vptr check probes memory through a pipe(), which
    # then fails, and it reports valid objects as invalid and aborts the server: a false
    # report, so the ASan+UBSan build (the test config that sets UBSAN_OPTIONS) skips this.
    @unittest.skipIf("UBSAN_OPTIONS" in os.environ,
                     "the sanitizer runtime needs descriptors this test takes away")
    def test_connections_beyond_rlimit_nofile_are_refused_without_spinning(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the clients need 2,000
        def nofile_1024():
            resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

        log = tempfile.TemporaryFile()
        self.addCleanup(log.close)
        server = Server("--incremental=false", admin=False, stderr=log, preexec_fn=nofile_1024)
        clients = []
        try:
            log.seek(0)
            said = log.read().decode()
            self.assertIn("(RLIMIT_NOFILE is 1024", said)
            holds = int(said.split("ringside: up to ", 1)[1].split()[0])
            self.assertGreater(holds, 800)
            clients = [socket.create_connection(("127.0.0.1", server.http_port), timeout=TIMEOUT)
                       for _ in range(2000)]
            served = refused = 0
            for client in clients:
                try:
                    client.sendall(PIPELINE_REQUEST)
                    answer = client.recv(4096)
                except (ConnectionResetError, BrokenPipeError):
                    answer = b""  # refused: the server closed it, maybe before we wrote
                if answer.startswith(b"HTTP/1.1 200"):
                    served += 1
                else:
                    refused += 1
            self.assertEqual(served, holds)
            self.assertEqual(refused, 2000 - holds)
            # Holding every descriptor it may: no accept spins (the defect: 100% CPU).
            before = cpu_seconds(server.process.pid)
            time.sleep(1)
            self.assertLess(cpu_seconds(server.process.pid) - before, 0.2)
            # The connections it holds are still served.
            for client in clients[:10]:
                client.sendall(PIPELINE_REQUEST)
            self.assertEqual(sum(c.recv(4096).startswith(b"HTTP/1.1 200")
                                 for c in clients[:10]), 10)
        finally:
            for client in clients:
                client.close()
            code = server.stop()
            log.seek(0)
            self.assertEqual(code, 0, log.read().decode()[-2000:])
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


if __name__ == "__main__":
    unittest.main()
