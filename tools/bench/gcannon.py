"""Runs gcannon (HttpArena's io_uring HTTP/1.1 load generator, built by the peers' build
script) on the load generator's CPU, and charges the server the CPU it used inside
gcannon's measuring window.

wrk on one core saturates near 2M pipelined req/s, and in keep-alive and churn well before
the server does; gcannon on one core is not the limit below about 3.5M req/s. gcannon
connects, warms up for 100 ms, then measures whole seconds; the server's CPU time is sampled
at the window's ends, so connection set-up is not charged to the requests.
"""
import json
import os
import subprocess
import time

import procstat
import wrk

_WINDOW_OPEN_S = 0.3          # after gcannon starts: connected and past its warm-up
_WINDOW_CLOSE_S = 0.1 - 0.05  # after the measured seconds (0.1 s warm-up), a little early


def run(binary, port, path, connections, seconds, server_pid, depth=1,
        requests_per_connection=0):
    """One gcannon run: {'requests', 'seconds', 'errors', 'cpu_s', 'server_cpu_us'}: the
    requests answered inside the CPU window, its length, non-2xx responses and socket
    errors, gcannon's own CPU time, and the server's CPU time inside the window."""
    cmd = ["taskset", "-c", wrk.LOAD_CPU, binary, f"http://127.0.0.1:{port}{path}",
           "-c", str(connections), "-t", "1", "-d", f"{seconds}s", "-p", str(depth), "--json"]
    if requests_per_connection:
        cmd += ["-r", str(requests_per_connection)]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples = []
    for at in (_WINDOW_OPEN_S, seconds + _WINDOW_CLOSE_S):
        time.sleep(max(0.0, started + at - time.monotonic()))
        samples.append((time.monotonic(), procstat.cpu_us(server_pid),
                         procstat.cpu_us(proc.pid)))
    out, err = proc.communicate(timeout=seconds + 30)
    if proc.returncode != 0:
        raise RuntimeError(f"gcannon failed ({proc.returncode}): {err.strip()[-300:]}")
    result = json.loads(out)
    (t0, server0, load0), (t1, server1, load1) = samples
    window = t1 - t0
    ok = result["status"].get("2xx", 0)
    return {"requests": result["rps"] * window,
            "seconds": window,
            "errors": sum(result["errors"].values()) + (result["responses"] - ok),
            "cpu_s": (load1 - load0) / 1e6,
            "server_cpu_us": server1 - server0}
