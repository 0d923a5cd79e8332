#!/usr/bin/python3
"""The admin contract from a second language: python3-grpcio (Debian) against the real
server binary, with stubs generated from the same admin.proto by the system protoc and
grpc_python_plugin. Health and reflection are called with raw bytes, since their Python
stubs are not packaged for Debian.

Runs under Bazel (the server and stubs come from runfiles); /usr/bin/python3 because the
Debian grpcio package is installed for the system interpreter.
"""

import os
import sys
import unittest

RUNFILES = os.path.join(os.environ.get("TEST_SRCDIR", ""), os.environ.get("TEST_WORKSPACE", ""))
sys.path.insert(0, RUNFILES)

import grpc  # noqa: E402
from services.admin import admin_pb2, admin_pb2_grpc  # noqa: E402
from services.admin.server_process import (  # noqa: E402
    PIPELINE_REQUEST, TIMEOUT, Server, failed_start, peer_name, pipeline)


def protobuf_fields(data):
    """(field number, value) of a serialized message: varints and length-delimited only."""
    at = 0
    while at < len(data):
        key, at = varint(data, at)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, at = varint(data, at)
        elif wire_type == 2:
            length, at = varint(data, at)
            value, at = data[at:at + length], at + length
        else:
            raise AssertionError("unexpected wire type %d" % wire_type)
        yield number, value


def varint(data, at):
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


class AdminFromPythonTest(unittest.TestCase):

    def check_live_connections(self, incremental):
        server = Server("--incremental=%s" % str(incremental).lower())
        try:
            depths = [1, 7, 33]
            clients = [pipeline(server.http_port, d) for d in depths]
            with grpc.insecure_channel(server.admin) as channel:
                stub = admin_pb2_grpc.RingAdminStub(channel)
                listed = stub.ListConnections(
                    admin_pb2.ListConnectionsRequest(max_results=1000), timeout=TIMEOUT)
                self.assertTrue(listed.end)
                by_peer = {c.peer: c for c in listed.connections}
                self.assertEqual(len(by_peer), len(clients))
                for sock, depth in zip(clients, depths):
                    c = by_peer[peer_name(sock)]
                    self.assertEqual(c.recv_bytes, depth * len(PIPELINE_REQUEST))
                    self.assertEqual(c.requests, depth)
                    self.assertEqual(c.incremental, incremental)

                one = by_peer[peer_name(clients[0])]
                detail = stub.GetConnection(
                    admin_pb2.GetConnectionRequest(connection_id=one.connection_id),
                    timeout=TIMEOUT).connection
                self.assertEqual(detail.connection_id, one.connection_id)
                if incremental:
                    self.assertEqual(len(detail.buffers), detail.ring_entries)
                    self.assertEqual(detail.buffers[0].offset, detail.recv_bytes)
                    bgids = [c.bgid for c in listed.connections]
                    self.assertEqual(len(set(zip(bgids, [c.reactor_id for c in listed.connections]))),
                                     len(bgids))
                else:
                    self.assertEqual(len(detail.buffers), 0)

                stats = stub.GetServerStats(admin_pb2.GetServerStatsRequest(), timeout=TIMEOUT)
                self.assertEqual(stats.effective_mode, "incremental" if incremental else "shared")
                self.assertEqual(len(stats.reactors), 2)
                self.assertEqual(sum(r.connections for r in stats.reactors), len(clients))
                self.assertEqual(stats.configuration["reactors"], "2")
                self.assertEqual(stats.configuration["incremental"], str(incremental).lower())
                self.assertIn("IOU_PBUF_RING_INC" if incremental else "SINGLE_ISSUER",
                              stats.kernel_features)

                with self.assertRaises(grpc.RpcError) as missing:
                    stub.GetConnection(admin_pb2.GetConnectionRequest(connection_id=1 << 62),
                                       timeout=TIMEOUT)
                self.assertEqual(missing.exception.code(), grpc.StatusCode.NOT_FOUND)
                with self.assertRaises(grpc.RpcError) as too_many:
                    stub.ListConnections(admin_pb2.ListConnectionsRequest(max_results=5000),
                                         timeout=TIMEOUT)
                self.assertEqual(too_many.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

                watch = stub.WatchConnections(admin_pb2.WatchConnectionsRequest(interval_ms=100))
                first, second = next(watch), next(watch)
                self.assertEqual((first.sequence, second.sequence), (1, 2))
                self.assertEqual(len(first.connections), len(clients))
                watch.cancel()
                with self.assertRaises(grpc.RpcError) as cancelled:
                    for _ in watch:
                        pass
                self.assertEqual(cancelled.exception.code(), grpc.StatusCode.CANCELLED)
            for sock in clients:
                sock.close()
        finally:
            self.assertEqual(server.stop(), 0)

    def test_incremental_mode(self):
        self.check_live_connections(True)

    def test_shared_mode(self):
        self.check_live_connections(False)

    def test_forced_fallback_runs_shared_and_says_why(self):
        server = Server("--force_incremental_fallback")
        try:
            clients = [pipeline(server.http_port, 3) for _ in range(2)]
            with grpc.insecure_channel(server.admin) as channel:
                stats = admin_pb2_grpc.RingAdminStub(channel).GetServerStats(
                    admin_pb2.GetServerStatsRequest(), timeout=TIMEOUT)
            self.assertEqual(stats.effective_mode, "shared")
            self.assertNotEqual(stats.fallback_reason, "")
            self.assertNotIn("IOU_PBUF_RING_INC", stats.kernel_features)
            self.assertEqual(sum(r.connections for r in stats.reactors), len(clients))
            for sock in clients:
                sock.close()
        finally:
            self.assertEqual(server.stop(), 0)

    def test_health_and_reflection(self):
        server = Server()
        try:
            with grpc.insecure_channel(server.admin) as channel:
                check = channel.unary_unary("/grpc.health.v1.Health/Check")
                # HealthCheckResponse{status: SERVING}
                self.assertEqual(check(b"", timeout=TIMEOUT), b"\x08\x01")

                reflect = channel.stream_stream(
                    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
                # ServerReflectionRequest{list_services: ""}
                (response,) = list(reflect(iter([b"\x3a\x00"]), timeout=TIMEOUT))
                # ServerReflectionResponse.list_services_response (6) -> service (1) -> name (1)
                names = set()
                for number, listing in protobuf_fields(response):
                    if number == 6:
                        for _, service in protobuf_fields(listing):
                            names.update(v.decode() for n, v in protobuf_fields(service) if n == 1)
                self.assertIn("ringside.admin.v1.RingAdmin", names)
                self.assertIn("grpc.health.v1.Health", names)
        finally:
            self.assertEqual(server.stop(), 0)

    def test_token(self):
        server = Server("--admin_token=py-s3cret")
        try:
            with grpc.insecure_channel(server.admin) as channel:
                stub = admin_pb2_grpc.RingAdminStub(channel)
                request = admin_pb2.GetServerStatsRequest()
                for metadata in [None, [("authorization", "Bearer wrong")]]:
                    with self.assertRaises(grpc.RpcError) as denied:
                        stub.GetServerStats(request, metadata=metadata, timeout=TIMEOUT)
                    self.assertEqual(denied.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
                stats = stub.GetServerStats(
                    request, metadata=[("authorization", "Bearer py-s3cret")], timeout=TIMEOUT)
                self.assertEqual(stats.configuration["admin_token"], "(set)")
                # Health and reflection sit behind the token too: nothing they produce
                # reaches a client without it.
                check = channel.unary_unary("/grpc.health.v1.Health/Check")
                with self.assertRaises(grpc.RpcError) as denied:
                    check(b"", timeout=TIMEOUT)
                self.assertEqual(denied.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
                reflect = channel.stream_stream(
                    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
                with self.assertRaises(grpc.RpcError) as denied:
                    responses = list(reflect(iter([b"\x3a\x00"]), timeout=TIMEOUT))
                    self.assertEqual(responses, [b""])
                self.assertEqual(denied.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        finally:
            self.assertEqual(server.stop(), 0)

    def test_admin_stats(self):
        server = Server("--admin_max_connections=5", "--admin_max_watches=3")
        try:
            with grpc.insecure_channel(server.admin) as channel:
                stub = admin_pb2_grpc.RingAdminStub(channel)
                admin = stub.GetServerStats(admin_pb2.GetServerStatsRequest(),
                                            timeout=TIMEOUT).admin
                self.assertEqual(admin.max_connections, 5)
                self.assertEqual(admin.max_watches, 3)
                self.assertEqual(admin.connections, 1)
                self.assertEqual(admin.connections_accepted, 1)
                self.assertEqual(admin.watches, 0)
        finally:
            self.assertEqual(server.stop(), 0)


class AdminStartupTest(unittest.TestCase):
    """What the server refuses at start, and what it accepts instead."""

    def test_a_public_address_without_a_token_is_refused(self):
        for address in ["0.0.0.0:0", "[::]:0"]:
            code, stderr = failed_start("--admin_address=" + address)
            self.assertEqual(code, 2, stderr)
            self.assertIn("refusing to serve the admin service on %s without a token" % address,
                          stderr)
            self.assertIn("--admin_insecure_public", stderr)

    def check_serves_on_loopback(self, *flags, metadata=None):
        server = Server(*flags)
        try:
            port = server.admin.rsplit(":", 1)[1]
            with grpc.insecure_channel("127.0.0.1:" + port) as channel:
                stub = admin_pb2_grpc.RingAdminStub(channel)
                stub.GetServerStats(admin_pb2.GetServerStatsRequest(), metadata=metadata,
                                    timeout=TIMEOUT)
        finally:
            self.assertEqual(server.stop(), 0)

    def test_a_public_address_with_a_token_or_the_explicit_flag_is_served(self):
        self.check_serves_on_loopback("--admin_address=0.0.0.0:0", "--admin_insecure_public")
        self.check_serves_on_loopback("--admin_address=0.0.0.0:0", "--admin_token=t",
                                      metadata=[("authorization", "Bearer t")])
        self.check_serves_on_loopback("--admin_address=localhost:0")

    def test_bad_token_files_and_limits_are_refused(self):
        directory = os.environ.get("TEST_TMPDIR", "/tmp")
        empty = os.path.join(directory, "empty")
        with open(empty, "w") as f:
            f.write("\n")
        for flags, message in [
                (["--admin_token_file=" + empty], "is empty"),
                (["--admin_token_file=" + os.path.join(directory, "absent")], "cannot read"),
                (["--admin_token_file=" + empty, "--admin_token=x"], "exclusive"),
                (["--admin_max_connections=0"], "--admin_max_connections"),
                (["--admin_max_watches=-1"], "--admin_max_watches"),
                (["--admin_address=nonsense"], "HOST:PORT")]:
            code, stderr = failed_start(*flags)
            self.assertEqual(code, 2, flags)
            self.assertIn(message, stderr, flags)


if __name__ == "__main__":
    unittest.main()
