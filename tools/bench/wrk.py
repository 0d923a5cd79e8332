"""Runs wrk on the load generator's CPU and reads its summary."""
import os
import re
import resource
import subprocess

import procstat

LOAD_CPU = "1"
_HERE = os.path.dirname(os.path.abspath(__file__))
_DONE = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def run(port, path, connections, seconds, script=None, server_pid=None):
    """One wrk run: {'requests', 'seconds', 'errors', 'cpu_s', 'server_cpu_us'}; errors are
    socket errors plus non-2xx responses, cpu_s is wrk's own CPU time (is the load generator
    the limit?), server_cpu_us the server's over the whole run (when server_pid is given)."""
    cmd = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s",
           "--timeout=10s"]
    if script:
        cmd += ["-s", os.path.join(_HERE, script)]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = procstat.cpu_us(server_pid) if server_pid else 0
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    server_after = procstat.cpu_us(server_pid) if server_pid else 0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = _DONE.search(out)
    if not done:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    socket_errors = _SOCKET_ERRORS.search(out)
    errors = sum(map(int, socket_errors.groups())) if socket_errors else 0
    non_2xx = _NON_2XX.search(out)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    return {"requests": int(done.group(1)),
            "seconds": float(done.group(2)) * _SECONDS[done.group(3)],
            "errors": errors,
            "cpu_s": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
            "server_cpu_us": server_after - server_before}
