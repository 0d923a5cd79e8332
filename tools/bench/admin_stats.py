"""Buffer efficiency from ringside's admin gRPC service (services/admin/admin.proto).

Python stubs are generated at start from the proto with the system protoc and
grpc_python_plugin (BUILD_NOTES: they match apt's python3-grpcio and python3-protobuf).
Whatever is missing (grpcio, the plugin, or a server that does not serve the service yet),
the benchmarks go on and the report says "admin service unavailable" with the reason.
"""
import importlib
import os
import subprocess
import sys
import tempfile

_PAGE = 1000  # the largest page ListConnections accepts


class AdminClient:
    def __init__(self, proto_path):
        self.error = None
        self._stubs_dir = tempfile.TemporaryDirectory(prefix="ringside-bench-admin-")
        try:
            self._load(proto_path)
        except Exception as e:  # any failure only disables this section
            self.error = f"cannot build the Python client: {e}"

    def _load(self, proto_path):
        out = self._stubs_dir.name
        subprocess.run(
            ["protoc", f"-I{os.path.dirname(proto_path)}", f"--python_out={out}",
             f"--grpc_out={out}", "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
             os.path.basename(proto_path)],
            check=True, capture_output=True, text=True)
        sys.path.insert(0, out)
        self._grpc = importlib.import_module("grpc")
        self._pb = importlib.import_module("admin_pb2")
        self._rpc = importlib.import_module("admin_pb2_grpc")

    def snapshot(self, address):
        """Totals over the live connections, or {'unavailable': reason}."""
        if self.error:
            return {"unavailable": self.error}
        try:
            with self._grpc.insecure_channel(address) as channel:
                stub = self._rpc.RingAdminStub(channel)
                mode = stub.GetServerStats(self._pb.GetServerStatsRequest(),
                                           timeout=2).effective_mode
                connections = self._all_connections(stub)
        except self._grpc.RpcError as e:
            return {"unavailable": f"{e.code().name}: {e.details()}"}
        return _totals(mode, connections)

    def _all_connections(self, stub):
        connections, start = [], 0
        while True:
            page = stub.ListConnections(
                self._pb.ListConnectionsRequest(start_connection_id=start, max_results=_PAGE),
                timeout=5)
            connections += page.connections
            if page.end or not page.connections:
                return connections
            start = page.connections[-1].connection_id + 1


def _totals(mode, connections):
    recv = sum(c.recv_completions for c in connections)
    recycled = sum(c.buffers_recycled for c in connections)
    retired = sum(c.retired_bytes for c in connections)
    buffer_size = max((c.buffer_size for c in connections), default=0)
    avg_retired = retired / recycled if recycled else None
    return {
        "effective_mode": mode,
        "connections": len(connections),
        "recv_completions": recv,
        "buffers_recycled": recycled,
        "retired_bytes": retired,
        "buffer_size": buffer_size,
        "completions_per_buffer": recv / recycled if recycled else None,
        "avg_retired_bytes": avg_retired,
        "retired_fill": avg_retired / buffer_size if avg_retired and buffer_size else None,
    }
