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
        """The server's buffer-efficiency totals, or {'unavailable': reason}."""
        if self.error:
            return {"unavailable": self.error}
        try:
            with self._grpc.insecure_channel(address) as channel:
                stats = self._rpc.RingAdminStub(channel).GetServerStats(
                    self._pb.GetServerStatsRequest(), timeout=2)
        except self._grpc.RpcError as e:
            return {"unavailable": f"{e.code().name}: {e.details()}"}
        return _totals(stats)


def _totals(stats):
    """Reactor-wide counters cover every ring, shared or per connection, since start."""
    recv = sum(r.recv_completions for r in stats.reactors)
    recycled = sum(r.buffers_recycled for r in stats.reactors)
    retired = sum(r.retired_bytes for r in stats.reactors)
    buffer_size = int(stats.configuration.get("buffer_size", "0"))
    avg_retired = retired / recycled if recycled else None
    return {
        "effective_mode": stats.effective_mode,
        "connections": sum(r.connections for r in stats.reactors),
        "recv_completions": recv,
        "buffers_recycled": recycled,
        "retired_bytes": retired,
        "buffer_size": buffer_size,
        "completions_per_buffer": recv / recycled if recycled else None,
        "avg_retired_bytes": avg_retired,
        "retired_fill": avg_retired / buffer_size if avg_retired and buffer_size else None,
    }
