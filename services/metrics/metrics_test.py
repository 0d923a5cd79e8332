#!/usr/bin/python3
"""The metrics endpoint of the real server binary: its exposition parsed back by the rules
of the Prometheus text format (0.0.4), and a real Prometheus scraping it, whose HTTP API
must show the series this test's own traffic produced.

Runs under Bazel with //services:server in its runfiles. Prometheus is Debian's
`prometheus` package, which bazelw installs; without it the Prometheus test skips, and the
test checks that bazelw would install it.
"""

import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

RUNFILES = os.path.join(os.environ.get("TEST_SRCDIR", ""), os.environ.get("TEST_WORKSPACE", ""))
sys.path.insert(0, RUNFILES)

from services.admin.server_process import (  # noqa: E402
    PIPELINE_REQUEST, TIMEOUT, Server, failed_start, pipeline)

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"

# Text format 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats).
METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\\\|\\"|\\n)*"'
VALUE = r"(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|NaN|[+-]Inf)"
SAMPLE = re.compile(
    r"^(?P<name>%s)(?:\{(?P<labels>(?:%s=%s(?:,%s=%s)*,?)?)\})? (?P<value>%s)(?: -?[0-9]+)?$"
    % (METRIC_NAME, LABEL_NAME, LABEL_VALUE, LABEL_NAME, LABEL_VALUE, VALUE))
LABEL = re.compile(r"(%s)=(%s)" % (LABEL_NAME, LABEL_VALUE))
HELP = re.compile(r"^# HELP (%s) (.*)$" % METRIC_NAME)
TYPE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % METRIC_NAME)
# Every label the endpoint may use: none names a connection.
ALLOWED_LABELS = {"reactor", "reason", "le", "mode", "kernel_features", "fallback_reason"}


def http_get(url):
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        return response.status, response.headers, response.read().decode()


def parse_exposition(text):
    """Checks every line of `text`; returns {family: {"type", "help", "samples"}}, where
    samples are (name, labels dict, value). Raises AssertionError naming the first bad line."""
    families = {}
    current = None
    for number, line in enumerate(text.split("\n"), 1):
        where = "line %d: %r" % (number, line)
        if line == "":
            continue
        if line.startswith("#"):
            help_match, type_match = HELP.match(line), TYPE.match(line)
            if help_match:
                name = help_match.group(1)
                family = families.setdefault(name, {"samples": []})
                assert "help" not in family, "second HELP, " + where
                family["help"] = help_match.group(2)
            elif type_match:
                name = type_match.group(1)
                family = families.setdefault(name, {"samples": []})
                assert "type" not in family, "second TYPE, " + where
                assert not family["samples"], "TYPE after samples, " + where
                family["type"] = type_match.group(2)
            else:
                assert line.startswith("# "), "malformed comment, " + where
            current = name if (help_match or type_match) else current
            continue
        match = SAMPLE.match(line)
        assert match, "not a sample, " + where
        name = match.group("name")
        family_name = name
        if current is not None and families[current].get("type") == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                if name == current + suffix:
                    family_name = current
        assert family_name == current, "sample outside its family's block, " + where
        labels = dict((k, v[1:-1]) for k, v in LABEL.findall(match.group("labels") or ""))
        families[current]["samples"].append((name, labels, float(match.group("value"))))
    return families


class ExpositionTest(unittest.TestCase):
    """The exposition of a server with open connections, checked line by line."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(admin=False, metrics=True)

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0

    def scrape(self):
        status, headers, body = http_get("http://%s/metrics" % self.server.metrics)
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        return body

    def test_every_line_is_valid_and_every_family_has_help_and_type(self):
        clients = [pipeline(self.server.http_port, depth) for depth in (1, 4, 9)]
        families = parse_exposition(self.scrape())
        for sock in clients:
            sock.close()
        self.assertGreaterEqual(len(families), 20)
        for name, family in families.items():
            self.assertTrue(name.startswith("ringside_"), name)
            self.assertIn("help", family, name)
            self.assertTrue(family["help"], name)
            self.assertIn("type", family, name)
            self.assertTrue(family["samples"], name)
            if family["type"] == "counter":
                self.assertTrue(name.endswith("_total"), name)
            for sample_name, labels, value in family["samples"]:
                self.assertLessEqual(set(labels), ALLOWED_LABELS, sample_name)
                self.assertFalse(math.isnan(value), sample_name)
                if family["type"] in ("counter", "histogram"):
                    self.assertGreaterEqual(value, 0, sample_name)
        requests = sum(v for n, _, v in families["ringside_requests_total"]["samples"])
        self.assertEqual(requests, 1 + 4 + 9)
        self.assertEqual(families["ringside_info"]["samples"][0][1]["mode"], "incremental")

    def test_histogram_buckets_are_cumulative_and_end_at_the_count(self):
        families = parse_exposition(self.scrape())
        name = "ringside_recv_completions_per_recycled_buffer"
        family = families[name]
        self.assertEqual(family["type"], "histogram")
        for reactor in ("0", "1"):
            buckets = [(l["le"], v) for n, l, v in family["samples"]
                       if n == name + "_bucket" and l["reactor"] == reactor]
            bounds = [float(le) for le, _ in buckets]
            self.assertEqual(bounds, sorted(bounds))
            self.assertEqual(buckets[-1][0], "+Inf")
            counts = [v for _, v in buckets]
            self.assertEqual(counts, sorted(counts))
            count = [v for n, l, v in family["samples"]
                     if n == name + "_count" and l["reactor"] == reactor]
            self.assertEqual(count, [counts[-1]])

    def test_series_do_not_grow_with_connections(self):
        def series(text):
            return sorted((n, tuple(sorted(l.items())))
                          for f in parse_exposition(text).values() for n, l, _ in f["samples"])
        before = series(self.scrape())
        clients = [pipeline(self.server.http_port, 1) for _ in range(40)]
        after = series(self.scrape())
        for sock in clients:
            sock.close()
        self.assertEqual(before, after)

    def test_other_paths_and_methods(self):
        with self.assertRaises(urllib.error.HTTPError) as missing:
            http_get("http://%s/" % self.server.metrics)
        self.assertEqual(missing.exception.code, 404)
        request = urllib.request.Request("http://%s/metrics" % self.server.metrics,
                                         data=b"", method="POST")
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=TIMEOUT)
        self.assertEqual(refused.exception.code, 405)
        self.assertEqual(refused.exception.headers["Allow"], "GET, HEAD")


class StartTest(unittest.TestCase):
    """The metrics flags are checked at start: the server refuses to run rather than serve
    somewhere it was not meant to."""

    def test_bad_metrics_flags_are_refused(self):
        for flags, message in [
                (["--metrics_address=0.0.0.0:0"], "--metrics_insecure_public"),
                (["--metrics_address=localhost:0"], "numeric"),
                (["--metrics_address=127.0.0.1"], "HOST:PORT"),
                (["--metrics_address=127.0.0.1:0", "--metrics_max_connections=0"],
                 "--metrics_max_connections must be in [1, 1024]")]:
            code, stderr = failed_start(*flags)
            self.assertEqual(code, 2, (flags, stderr))
            self.assertIn(message, stderr)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrometheusTest(unittest.TestCase):
    """Debian's Prometheus scrapes the server every 200 ms; its query API must show the
    traffic this test made."""

    def test_bazelw_installs_prometheus(self):
        # The other test may skip only because this holds.
        with open(os.path.join(RUNFILES, "bazelw")) as bazelw:
            listing = re.search(r"^packages=\((.*?)^\)", bazelw.read(), re.S | re.M).group(1)
        packages = [word for line in listing.splitlines()
                    for word in line.split("#", 1)[0].split()]
        self.assertIn("prometheus", packages)

    @unittest.skipUnless(os.access(PROMETHEUS, os.X_OK),
                         "prometheus is not installed; ./bazelw installs it (Debian package "
                         "prometheus)")
    def test_prometheus_sees_this_tests_traffic(self):
        server = Server(admin=False, metrics=True)
        workdir = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        web = "127.0.0.1:%d" % free_port()
        config = os.path.join(workdir, "prometheus.yml")
        with open(config, "w") as out:
            out.write("global:\n  scrape_interval: 200ms\n  scrape_timeout: 200ms\n"
                      "scrape_configs:\n  - job_name: ringside\n    static_configs:\n"
                      "      - targets: ['%s']\n" % server.metrics)
        log = open(os.path.join(workdir, "prometheus.log"), "w")
        prometheus = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + config,
             "--storage.tsdb.path=" + os.path.join(workdir, "data"),
             "--web.listen-address=" + web], stdout=log, stderr=subprocess.STDOUT)
        try:
            self.check_traffic(server, web, prometheus)
        finally:
            prometheus.terminate()
            prometheus.wait(timeout=TIMEOUT)
            log.close()
            self.assertEqual(server.stop(), 0)

    def query(self, web, expression):
        """The query's instant vector as {labels tuple: value}."""
        url = "http://%s/api/v1/query?%s" % (web, urllib.parse.urlencode({"query": expression}))
        _, _, body = http_get(url)
        answer = json.loads(body)
        self.assertEqual(answer["status"], "success", body)
        return {tuple(sorted(r["metric"].items())): float(r["value"][1])
                for r in answer["data"]["result"]}

    def wait_for(self, web, prometheus, expression, expected, deadline_s=60):
        """Polls the query until its single value is `expected`; fails at the deadline with
        what Prometheus last said."""
        deadline = time.monotonic() + deadline_s
        last = None
        while time.monotonic() < deadline:
            self.assertIsNone(prometheus.poll(), "prometheus exited")
            try:
                last = self.query(web, expression)
            except OSError as error:  # not listening yet
                last = error
            if isinstance(last, dict) and list(last.values()) == [expected]:
                return
            time.sleep(0.1)
        self.fail("%s: expected %s, Prometheus said %s" % (expression, expected, last))

    def check_traffic(self, server, web, prometheus):
        depths = [1, 2, 3, 5, 8, 13]
        clients = [pipeline(server.http_port, d) for d in depths]
        requests = sum(depths)
        self.wait_for(web, prometheus, 'up{job="ringside"}', 1)
        self.wait_for(web, prometheus, "sum(ringside_connections)", len(clients))
        self.wait_for(web, prometheus, "sum(ringside_requests_total)", requests)
        self.wait_for(web, prometheus, "sum(ringside_received_bytes_total)",
                      requests * len(PIPELINE_REQUEST))
        self.wait_for(web, prometheus, "count(ringside_connections)", 2)  # one per reactor
        self.wait_for(web, prometheus, 'count(ringside_info{mode="incremental"})', 1)
        for sock in clients:
            sock.close()
        self.wait_for(web, prometheus, "sum(ringside_connections)", 0)
        self.wait_for(web, prometheus, "sum(ringside_connections_accepted_total)", len(clients))
        self.wait_for(web, prometheus, "sum(ringside_requests_total)", requests)
        # Every bucket series of the histogram arrived, per reactor.
        self.wait_for(web, prometheus,
                      "count(ringside_recv_completions_per_recycled_buffer_bucket)", 2 * 8)


if __name__ == "__main__":
    unittest.main()
