"""results.md (the tables a person reads) and results.json (everything, for tools)."""
import json
import os

from summary import INC, SHARED


def _n(value, pattern="{:,.0f}"):
    return pattern.format(value) if value is not None else "n/a"


def _table(header, rows, text_columns=1):
    """A markdown table; the first text_columns are labels, the rest right-aligned figures."""
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i < text_columns else "---:"
                            for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _targets(rows):
    return _table(["target", "measured", "verdict"],
                  [[r["target"], r["shown"], f"**{r['verdict']}**"] for r in rows], 3)


def _variants(throughput):
    rows = [[name, v, f["loadgen"], _n(f["req_per_s"]), _n(f["cpu_us_per_req"], "{:.3f}"),
             _n(f["server_cpu_pct"], "{:.0f}%"), _n(f["load_cpu_pct"], "{:.0f}%"), f["errors"]]
            for name, p in throughput.items() for v, f in p["variants"].items()]
    return _table(["profile", "server", "load generator", "req/s", "CPU µs/req", "server CPU",
                   "load generator CPU", "errors"], rows, 3)


def _peers(peers):
    """The HttpArena profiles: every server, then ringside-incremental's CPU per request
    against each other server's (paired round by round, then the median)."""
    keys = sorted({k for p in peers.values() for k in p["ratios"]
                   if k.startswith("incremental/") and k.endswith("CPU/req")})
    ratios = _table(["profile"] + keys,
                    [[name] + [_n(p["ratios"].get(k), "{:.3f}") for k in keys]
                     for name, p in peers.items()])
    return (f"{_variants(peers)}\n\nringside-incremental's CPU per request against each "
            f"(below 1: ringside spends less):\n\n{ratios}")


def _workers(workers):
    keys = sorted({k for p in workers.values() for k in p["ratios"]})
    ratios = _table(["profile"] + keys,
                    [[name] + [_n(p["ratios"].get(k), "{:.3f}") for k in keys]
                     for name, p in workers.items()])
    return f"{_variants(workers)}\n\nRatios (paired round by round, then the median):\n\n{ratios}"


def _throughput(throughput):
    keys = ["incremental/shared req/s", "incremental/shared CPU/req",
            "ringside/nginx req/s", "ringside/nginx CPU/req"]
    ratios = _table(["profile"] + keys,
                    [[name] + [_n(p["ratios"].get(k), "{:.3f}") for k in keys]
                     for name, p in throughput.items()])
    return f"{_variants(throughput)}\n\nRatios (paired round by round, then the median):\n\n{ratios}"


def _peak_rss(throughput):
    upload = throughput.get("upload-64")
    if not upload:
        return None
    return _table(["server", "peak RSS (VmHWM) KiB"],
                  [[v, _n(f["peak_rss_kib"])] for v, f in upload["variants"].items()])


def _buffers(throughput):
    rows, unavailable = [], None
    for name, p in throughput.items():
        for v in (INC, SHARED):
            b = p["variants"].get(v, {}).get("buffers")
            if not b:
                continue
            if "unavailable" in b:
                unavailable = b["unavailable"]
                continue
            rows.append([name, v, b["effective_mode"], _n(b["completions_per_buffer"], "{:.2f}"),
                         _n(b["avg_retired_bytes"]), _n(b["buffer_size"]),
                         _n(b["retired_fill"], "{:.1%}")])
    if rows:
        return _table(["profile", "server", "effective mode", "recv completions per buffer",
                       "avg bytes at retirement", "buffer size", "fill"], rows, 3)
    if unavailable:
        return f"admin service unavailable ({unavailable}): buffer figures not measured."
    return None


def _memory(memory):
    return _table(["idle connections", "server", "baseline RSS KiB", "RSS KiB", "KiB/conn"],
                  [[n, v, _n(f["baseline_kib"]), _n(f["rss_kib"]),
                    _n(f["kib_per_conn"], "{:.2f}")]
                   for n, per in memory.items() for v, f in per.items()], 2)


def markdown(meta, summary, targets, charts, queue_output):
    parts = ["# ringside benchmark results", "",
             "\n".join(f"- {k}: {v}" for k, v in meta.items()), "",
             "## Targets", "", _targets(targets)]
    throughput = summary.get("throughput")
    sections = [
        ("Throughput and server CPU per request", throughput and _throughput(throughput)),
        ("Against the HttpArena peers (gcannon; server CPU per request compares)",
         summary.get("peers") and _peers(summary["peers"])),
        ("Worker mode against inline (one reactor, one worker, same CPU)",
         summary.get("workers") and _workers(summary["workers"])),
        ("--wait strategies (pipelined-64, incremental)",
         summary.get("wait") and _variants({"pipelined-64": summary["wait"]})),
        ("Idle keep-alive connections: server RSS", summary.get("memory") and
         _memory(summary["memory"])),
        ("Peak RSS during upload-64", throughput and _peak_rss(throughput)),
        ("Buffer efficiency (admin service)", throughput and _buffers(throughput)),
        ("Charts", charts and "\n\n".join(f"![{c}]({c})" for c in charts)),
        ("MPSC queue benchmark (//queue:mpsc_queue_benchmark, opt)",
         queue_output and queue_output.strip()),
    ]
    for title, body in sections:
        if body:
            parts += ["", f"## {title}", "", body]
    return "\n".join(parts) + "\n"


def write(out, meta, raw, summary, targets, charts, queue_output):
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(markdown(meta, summary, targets, charts, queue_output))
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"meta": meta, "summary": summary, "targets": targets, "raw": raw,
                   "charts": charts, "mpsc_queue_benchmark": queue_output}, f, indent=2)
