"""Throughput and server CPU per request: one load generator run (gcannon where it is given
and the profile has a gcannon form, else wrk) against a fresh server, interleaved over the
variants (A B C A B C ...) so that noise on the machine hits them alike."""
import os
import sys
import threading

import gcannon as gcannon_runner
import procstat
import wrk

# When the admin snapshot is taken, as a fraction of the measured run: late enough that the
# counters cover most of it, early enough that wrk has not closed its connections yet.
_SNAPSHOT_AT = 0.8


def _load(profile, port, seconds, server_pid, gcannon):
    if gcannon and profile.gcannon:
        return gcannon_runner.run(gcannon, port, profile.path, profile.connections, seconds,
                                  server_pid, profile.gcannon.depth,
                                  profile.gcannon.requests_per_connection)
    return wrk.run(port, profile.path, profile.connections, seconds, profile.script,
                   server_pid)


def run_once(variant, profile, seconds, warmup, log_dir, admin=None, gcannon=None):
    log_path = os.path.join(log_dir, f"{variant.name}.log")
    server = variant.start(log_path)
    try:
        # A fresh server's first requests pay for page faults and ring set-up.
        _load(profile, server.port, warmup, server.pid, gcannon)
        snapshot = {}
        timer = None
        if admin and server.admin and profile.buffers:
            timer = threading.Timer(seconds * _SNAPSHOT_AT,
                                    lambda: snapshot.update(admin.snapshot(server.admin)))
            timer.start()
        result = _load(profile, server.port, seconds, server.pid, gcannon)
        if timer:
            timer.join()
        peak_rss_kib = procstat.status_kib(server.pid, "VmHWM")
    finally:
        server.stop()
    requests, cpu = result["requests"], result["server_cpu_us"]
    return {
        "loadgen": "gcannon" if gcannon and profile.gcannon else "wrk",
        "req_per_s": requests / result["seconds"],
        "cpu_us_per_req": cpu / requests if requests else None,
        "requests": requests,
        "errors": result["errors"],
        "seconds": result["seconds"],
        # Which side was the limit: a server below ~100% was waiting for the load generator.
        "server_cpu_pct": 100 * cpu / 1e6 / result["seconds"],
        "load_cpu_pct": 100 * result["cpu_s"] / result["seconds"],
        "peak_rss_kib": peak_rss_kib,
        "buffers": snapshot or None,
    }


def interleaved(variants, profile, rounds, seconds, warmup, log_dir, admin=None,
                gcannon=None):
    """{variant name: [one result per round]}; the order of the variants turns each round."""
    results = {v.name: [] for v in variants}
    for r in range(rounds):
        shift = r % len(variants)
        for v in variants[shift:] + variants[:shift]:
            res = run_once(v, profile, seconds, warmup, log_dir, admin, gcannon)
            results[v.name].append(res)
            print(f"  [{r + 1}/{rounds}] {profile.name:14} {v.name:34} "
                  f"{res['req_per_s']:>10.0f} req/s {_fmt(res['cpu_us_per_req'])} "
                  f"CPU-us/req, server {res['server_cpu_pct']:.0f}% {res['loadgen']} "
                  f"{res['load_cpu_pct']:.0f}% CPU, {res['errors']} errors",
                  file=sys.stderr, flush=True)
    return results


def _fmt(value):
    return f"{value:6.2f}" if value is not None else "   n/a"
