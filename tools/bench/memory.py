"""Server memory held by idle keep-alive connections: RSS before and after N connections
that each sent one request, read once they have been idle longer than the server's idle
period (ringside gives an idle connection's ring back after --ring_idle_ms)."""
import os
import subprocess
import sys
import time

import procstat
import wrk

_CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "idle_client.py")


def run_once(variant, connections, idle_s, log_dir):
    server = variant.start(os.path.join(log_dir, f"{variant.name}.log"))
    try:
        baseline = procstat.status_kib(server.pid, "VmRSS")
        client = subprocess.Popen(
            ["taskset", "-c", wrk.LOAD_CPU, sys.executable, _CLIENT, str(server.port),
             str(connections)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            ready = client.stdout.readline()
            if not ready.startswith("ready"):
                raise RuntimeError(f"idle client failed against {variant.name}")
            time.sleep(idle_s)
            rss = procstat.status_kib(server.pid, "VmRSS")
        finally:
            client.stdin.close()
            client.wait()
    finally:
        server.stop()
    return {"baseline_kib": baseline, "rss_kib": rss,
            "kib_per_conn": (rss - baseline) / connections}


def interleaved(variants, sizes, rounds, idle_s, log_dir):
    """{size: {variant name: [one result per round]}}."""
    results = {}
    for n in sizes:
        per_variant = results.setdefault(n, {v.name: [] for v in variants})
        for r in range(rounds):
            for v in variants:
                res = run_once(v, n, idle_s, log_dir)
                per_variant[v.name].append(res)
                print(f"  [{r + 1}/{rounds}] idle-{n:<8} {v.name:34} RSS "
                      f"{res['baseline_kib']} -> {res['rss_kib']} KiB, "
                      f"{res['kib_per_conn']:.2f} KiB/conn", file=sys.stderr, flush=True)
    return results
