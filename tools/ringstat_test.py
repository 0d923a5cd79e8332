#!/usr/bin/python3
"""ringstat against the real server binary: `list --json` (checked field by field), get,
server, top (plain, JSON, and interactive on a pseudo-terminal), a fleet of two servers and
a dead address (instance column, totals, down instances, exit statuses), and its error
messages.
"""

import json
import os
import pty
import select
import subprocess
import sys
import time
import unittest

RUNFILES = os.path.join(os.environ.get("TEST_SRCDIR", ""), os.environ.get("TEST_WORKSPACE", ""))
sys.path.insert(0, RUNFILES)

from services.admin.server_process import (  # noqa: E402
    PIPELINE_REQUEST, TIMEOUT, Server, peer_name, pipeline)

RINGSTAT = os.path.join(RUNFILES, "tools", "ringstat")


def ringstat(admin, *args):
    return subprocess.run([RINGSTAT, "--admin=" + admin, *args], capture_output=True,
                          text=True, timeout=TIMEOUT)


class RingstatTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = Server("--admin_token=", "--ring_idle_ms=600000")
        cls.depths = [3, 1, 20]
        cls.clients = [pipeline(cls.server.http_port, d) for d in cls.depths]

    @classmethod
    def tearDownClass(cls):
        for sock in cls.clients:
            sock.close()
        assert cls.server.stop() == 0

    def test_list_json(self):
        result = ringstat(self.server.admin, "list", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        listing = json.loads(result.stdout)
        self.assertIs(listing["end"], True)
        by_peer = {c["peer"]: c for c in listing["connections"]}
        self.assertEqual(len(by_peer), len(self.clients))
        for sock, depth in zip(self.clients, self.depths):
            c = by_peer[peer_name(sock)]
            # proto3 JSON writes 64-bit integers as strings.
            self.assertEqual(int(c["recv_bytes"]), depth * len(PIPELINE_REQUEST))
            self.assertEqual(int(c["requests"]), depth)
            self.assertIs(c["incremental"], True)
            self.assertIs(c["ring_attached"], True)
            self.assertEqual(c["buffers"], [])
            for field in ["connection_id", "reactor_id", "fd", "bgid", "ring_entries",
                          "buffer_size", "recv_completions", "buf_more_completions",
                          "buffers_recycled", "enobufs_stalls", "stale_releases", "bytes_sent"]:
                self.assertIn(field, c)
        ids = [int(c["connection_id"]) for c in listing["connections"]]
        self.assertEqual(ids, sorted(ids))

    def test_list_table(self):
        result = ringstat(self.server.admin, "list", "--sort=reqs")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertIn("*REQS", lines[0])
        self.assertEqual(lines[-1], "3 connection(s)")
        # Most requests first: the 20-deep client's peer leads.
        self.assertIn(peer_name(self.clients[2]), lines[1])

    def test_get_and_server(self):
        listing = json.loads(ringstat(self.server.admin, "list", "--json").stdout)
        first = listing["connections"][0]
        result = ringstat(self.server.admin, "get", first["connection_id"], "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        detail = json.loads(result.stdout)["connection"]
        self.assertEqual(len(detail["buffers"]), detail["ring_entries"])
        text = ringstat(self.server.admin, "get", first["connection_id"]).stdout
        self.assertIn("KERNEL_DONE", text)

        missing = ringstat(self.server.admin, "get", "999999999")
        self.assertEqual(missing.returncode, 1)
        self.assertIn("no open connection has id 999999999", missing.stderr)

        stats = json.loads(ringstat(self.server.admin, "server", "--json").stdout)
        self.assertEqual(stats["effective_mode"], "incremental")
        self.assertEqual(len(stats["reactors"]), 2)
        self.assertIn("mode: incremental", ringstat(self.server.admin, "server").stdout)

    def test_top_plain_and_json(self):
        plain = ringstat(self.server.admin, "top", "--frames=2", "--interval_ms=100")
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertIn("snapshot 2", plain.stdout)
        self.assertIn("reactor 1:", plain.stdout)
        self.assertNotIn("\x1b[", plain.stdout, "no terminal codes when not on a terminal")

        lines = ringstat(self.server.admin, "top", "--json", "--frames=2",
                         "--interval_ms=100").stdout.splitlines()
        # top shows the newest snapshot each time it draws, so a slow reader (a loaded
        # machine) may skip some: the frames are the first snapshot, then a later one.
        sequences = [int(json.loads(line)["sequence"]) for line in lines]
        self.assertEqual(len(sequences), 2, lines)
        self.assertEqual(sequences[0], 1)
        self.assertGreater(sequences[1], sequences[0])

    def run_top_on_a_terminal(self, steps):
        """Runs top on a pseudo-terminal. For each (keys, expected) step, types `keys` once
        the screen so far shows `expected`. Returns (exit code, everything it wrote)."""
        pid, master = pty.fork()
        if pid == 0:
            os.execv(RINGSTAT, [RINGSTAT, "--admin=" + self.server.admin, "top",
                                "--interval_ms=100"])
        output = b""
        steps = list(steps)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    output += os.read(master, 65536)
                except OSError:  # the child exited and closed the terminal
                    pass
            if steps and steps[0][1] in output:
                os.write(master, steps.pop(0)[0])
            finished, status = os.waitpid(pid, os.WNOHANG)
            if finished:
                os.close(master)
                return os.waitstatus_to_exitcode(status), output
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        self.fail("top did not quit; it showed: %r" % output[-2000:])

    def test_top_interactive_sorts_and_quits_restoring_the_terminal(self):
        code, output = self.run_top_on_a_terminal([
            (b">", b"sort: RECV/s descending"),  # the default, drawn on the alternate screen
            (b"r", b"sort: CQES descending"),    # > moved to the next column
            (b"\x1b[D", b"sort: CQES ascending"),  # r reversed it; left arrow goes back
            (b"q", b"sort: RECV/s ascending"),
        ])
        self.assertEqual(code, 0)
        self.assertIn(b"\x1b[?1049h", output)
        self.assertIn(b"*CQES", output)
        self.assertTrue(output.rstrip().endswith(b"\x1b[?25h\x1b[?1049l"), output[-200:])

    def test_top_quits_on_ctrl_c(self):
        code, output = self.run_top_on_a_terminal([(b"\x03", b"snapshot 2")])
        self.assertEqual(code, 0)
        self.assertTrue(output.rstrip().endswith(b"\x1b[?1049l"), output[-200:])


class RingstatFleetTest(unittest.TestCase):
    """Two servers and an address nobody listens on: every instance is asked, the dead one
    is shown as down, and the exit status says some were (3)."""

    DEAD = "127.0.0.1:1"

    @classmethod
    def setUpClass(cls):
        cls.servers = [Server("--admin_token="), Server("--admin_token=")]
        cls.depths = [[2, 5], [7]]
        cls.clients = [[pipeline(server.http_port, d) for d in depths]
                       for server, depths in zip(cls.servers, cls.depths)]
        cls.fleet = ",".join([s.admin for s in cls.servers] + [cls.DEAD])

    @classmethod
    def tearDownClass(cls):
        for socks in cls.clients:
            for sock in socks:
                sock.close()
        for server in cls.servers:
            assert server.stop() == 0

    def test_list_shows_every_instance_and_the_down_one(self):
        result = ringstat(self.fleet, "list", "--sort=reqs")
        self.assertEqual(result.returncode, 3, result.stderr)
        lines = result.stdout.splitlines()
        self.assertTrue(lines[0].startswith("INSTANCE"), lines[0])
        self.assertIn("*REQS", lines[0])
        # Most requests first: the 7-deep client of the second server.
        self.assertTrue(lines[1].startswith(self.servers[1].admin), lines[1])
        self.assertIn(peer_name(self.clients[1][0]), lines[1])
        for server, socks in zip(self.servers, self.clients):
            for sock in socks:
                self.assertTrue(any(line.startswith(server.admin) and peer_name(sock) in line
                                    for line in lines), (server.admin, lines))
        self.assertIn("3 connection(s) on 2 of 3 instance(s)", lines)
        self.assertIn(self.DEAD + " down: cannot reach the admin service at " + self.DEAD,
                      result.stdout)

    def test_list_json(self):
        result = ringstat(self.fleet, "list", "--json")
        self.assertEqual(result.returncode, 3, result.stderr)
        instances = json.loads(result.stdout)["instances"]
        self.assertEqual([i["instance"] for i in instances],
                         [s.admin for s in self.servers] + [self.DEAD])
        self.assertEqual([i["up"] for i in instances], [True, True, False])
        for instance, depths in zip(instances, self.depths):
            requests = sorted(int(c["requests"]) for c in instance["listing"]["connections"])
            self.assertEqual(requests, sorted(depths))
        self.assertIn("cannot reach", instances[2]["error"])

    def test_server_totals_across_instances(self):
        result = ringstat(self.fleet, "server")
        self.assertEqual(result.returncode, 3, result.stderr)
        for server in self.servers:
            self.assertIn("== %s\nmode: incremental" % server.admin, result.stdout)
        self.assertIn("== %s: down: cannot reach" % self.DEAD, result.stdout)
        total = [l for l in result.stdout.splitlines() if l.startswith("total")]
        self.assertEqual(len(total), 1, result.stdout)
        self.assertIn("2/3 up  4 reactors  3 conns (3 accepted, 0 refused)  reqs 14", total[0])
        stats = json.loads(ringstat(self.fleet, "server", "--json").stdout)["instances"]
        self.assertEqual(len(stats[0]["stats"]["reactors"]), 2)

    def test_top_over_the_fleet(self):
        result = ringstat(self.fleet, "top", "--frames=4", "--interval_ms=100")
        self.assertEqual(result.returncode, 3, result.stderr)
        self.assertIn("ringstat top  3 instances", result.stdout)
        self.assertIn("INSTANCE", result.stdout)
        self.assertIn(self.DEAD + " " * (21 - len(self.DEAD)) + " down:", result.stdout)
        self.assertIn("2/3 up  4 reactors  3 conns", result.stdout)
        self.assertIn("ringstat: %s down:" % self.DEAD, result.stderr)
        lines = ringstat(self.fleet, "top", "--json", "--frames=2",
                         "--interval_ms=100").stdout.splitlines()
        for line in lines:
            self.assertTrue(json.loads(line)["instances"][0]["up"])

    def test_admin_file_and_exit_statuses(self):
        path = os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"), "fleet")
        with open(path, "w") as f:
            f.write("# the live ones\n%s\n%s  # second\n" % (self.servers[0].admin,
                                                               self.servers[1].admin))
        every = subprocess.run([RINGSTAT, "--admin_file=" + path, "list"], capture_output=True,
                               text=True, timeout=TIMEOUT)
        self.assertEqual(every.returncode, 0, every.stderr)
        self.assertIn("3 connection(s) on 2 of 2 instance(s)", every.stdout)
        none = ringstat(self.DEAD + ",127.0.0.1:2", "server")
        self.assertEqual(none.returncode, 1)
        self.assertIn("0/2 up", none.stdout)
        get = ringstat(self.fleet, "get", "1")
        self.assertEqual(get.returncode, 2)
        self.assertIn("get takes one server", get.stderr)
        missing = subprocess.run([RINGSTAT, "--admin_file=/nonexistent", "list"],
                                 capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(missing.returncode, 2)
        self.assertIn("cannot read /nonexistent", missing.stderr)


class RingstatErrorsTest(unittest.TestCase):

    def test_unreachable(self):
        result = ringstat("127.0.0.1:1", "list")
        self.assertEqual(result.returncode, 1)
        self.assertIn("cannot reach the admin service at 127.0.0.1:1", result.stderr)

    def test_token(self):
        server = Server("--admin_token=t0ken")
        try:
            missing = ringstat(server.admin, "server")
            self.assertEqual(missing.returncode, 1)
            self.assertIn("it requires a token", missing.stderr)
            wrong = ringstat(server.admin, "--token=nope", "list")
            self.assertEqual(wrong.returncode, 1)
            self.assertIn("is not the server's admin token", wrong.stderr)
            top = ringstat(server.admin, "--token=nope", "top", "--frames=1")
            self.assertEqual(top.returncode, 1)
            self.assertIn("is not the server's admin token", top.stderr)
            right = ringstat(server.admin, "--token=t0ken", "list", "--json")
            self.assertEqual(right.returncode, 0, right.stderr)
        finally:
            self.assertEqual(server.stop(), 0)

    def test_token_files(self):
        directory = os.environ.get("TEST_TMPDIR", "/tmp")
        server_file = os.path.join(directory, "server_token")
        client_file = os.path.join(directory, "client_token")
        wrong_file = os.path.join(directory, "wrong_token")
        empty_file = os.path.join(directory, "empty_token")
        for path, content in [(server_file, "t0ken\n"), (client_file, "t0ken"),
                              (wrong_file, "t0ken2\n"), (empty_file, "\n")]:
            with open(path, "w") as f:
                f.write(content)
        server = Server("--admin_token_file=" + server_file)
        try:
            right = ringstat(server.admin, "--token_file=" + client_file, "server", "--json")
            self.assertEqual(right.returncode, 0, right.stderr)
            configuration = json.loads(right.stdout)["configuration"]
            self.assertEqual(configuration["admin_token_file"], server_file)
            self.assertEqual(configuration["admin_token"], "")
            top = ringstat(server.admin, "--token_file=" + server_file, "top", "--frames=1",
                           "--interval_ms=100")
            self.assertEqual(top.returncode, 0, top.stderr)
            missing = ringstat(server.admin, "list")
            self.assertEqual(missing.returncode, 1)
            self.assertIn("--token_file", missing.stderr)
            wrong = ringstat(server.admin, "--token_file=" + wrong_file, "list")
            self.assertEqual(wrong.returncode, 1)
            self.assertIn("is not the server's admin token", wrong.stderr)
        finally:
            self.assertEqual(server.stop(), 0)
        for flags, message in [
                (["--token_file=" + empty_file], "is empty"),
                (["--token_file=" + os.path.join(directory, "absent")], "cannot read"),
                (["--token_file=" + client_file, "--token=x"], "exclusive")]:
            result = ringstat("127.0.0.1:1", *flags, "list")
            self.assertEqual(result.returncode, 2, flags)
            self.assertIn(message, result.stderr)

    def test_usage(self):
        result = ringstat("127.0.0.1:1", "frobnicate")
        self.assertEqual(result.returncode, 2)
        self.assertIn("usage: ringstat", result.stderr)


if __name__ == "__main__":
    unittest.main()
