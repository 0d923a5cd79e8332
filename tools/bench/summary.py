"""Medians over the rounds, and ratios of variants paired round by round (a ratio of two
runs measured next to each other is steadier than a ratio of two medians)."""
import statistics

INC, SHARED, NGINX = "ringside-incremental", "ringside-shared", "nginx"
_BUFFER_FIGURES = ("completions_per_buffer", "avg_retired_bytes", "retired_fill")


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def paired_ratio(per_variant, a, b, key):
    if a not in per_variant or b not in per_variant:
        return None
    return median([ra[key] / rb[key] if ra[key] and rb[key] else None
                   for ra, rb in zip(per_variant[a], per_variant[b])])


def _buffers(runs):
    snapshots = [r["buffers"] for r in runs if r["buffers"]]
    if not snapshots:
        return None
    usable = [s for s in snapshots if "unavailable" not in s]
    if not usable:
        return {"unavailable": snapshots[0]["unavailable"]}
    figures = {k: median([s[k] for s in usable]) for k in _BUFFER_FIGURES}
    figures["effective_mode"] = usable[0]["effective_mode"]
    figures["buffer_size"] = usable[0]["buffer_size"]
    return figures


def throughput(per_variant):
    variants = {
        name: {
            "req_per_s": median([r["req_per_s"] for r in runs]),
            "cpu_us_per_req": median([r["cpu_us_per_req"] for r in runs]),
            "errors": sum(r["errors"] for r in runs),
            "server_cpu_pct": median([r["server_cpu_pct"] for r in runs]),
            "load_cpu_pct": median([r["load_cpu_pct"] for r in runs]),
            "loadgen": runs[0]["loadgen"],
            "peak_rss_kib": median([r["peak_rss_kib"] for r in runs]),
            "buffers": _buffers(runs),
        }
        for name, runs in per_variant.items()
    }
    ratios = {
        "incremental/shared req/s": paired_ratio(per_variant, INC, SHARED, "req_per_s"),
        "incremental/shared CPU/req": paired_ratio(per_variant, INC, SHARED, "cpu_us_per_req"),
        "ringside/nginx req/s": paired_ratio(per_variant, INC, NGINX, "req_per_s"),
        "ringside/nginx CPU/req": paired_ratio(per_variant, INC, NGINX, "cpu_us_per_req"),
    }
    return {"variants": variants, "ratios": {k: v for k, v in ratios.items() if v is not None}}


def workers(per_variant):
    """throughput() of the worker-mode section, with workers/inline ratios per buffer mode."""
    out = throughput(per_variant)
    for mode in ("incremental", "shared"):
        for key, label in (("cpu_us_per_req", "CPU/req"), ("req_per_s", "req/s")):
            ratio = paired_ratio(per_variant, f"{mode}-workers", f"{mode}-inline", key)
            if ratio is not None:
                out["ratios"][f"{mode} workers/inline {label}"] = ratio
    return out


def memory(per_variant):
    return {
        name: {key: median([r[key] for r in runs])
               for key in ("baseline_kib", "rss_kib", "kib_per_conn")}
        for name, runs in per_variant.items()
    }


def peers(per_variant):
    """throughput() of the HttpArena profiles, with ringside-incremental's CPU per request
    against every other server's and, round by round, against the best peer of the round (a
    peer is any server but ringside)."""
    out = throughput(per_variant)
    names = [n for n in per_variant if not n.startswith("ringside-")]
    for name in per_variant:
        if name != INC:
            ratio = paired_ratio(per_variant, INC, name, "cpu_us_per_req")
            if ratio is not None:
                out["ratios"][f"incremental/{name} CPU/req"] = ratio
    rounds = list(zip(*(per_variant[n] for n in [INC] + names))) if INC in per_variant else []
    best = []
    for runs in rounds:
        cpu = [r["cpu_us_per_req"] for r in runs[1:] if r["cpu_us_per_req"]]
        if runs[0]["cpu_us_per_req"] and cpu:
            best.append(runs[0]["cpu_us_per_req"] / min(cpu))
    if best:
        out["ratios"]["incremental/best peer CPU/req"] = median(best)
    # Against every peer: the largest of the paired ratios (the peer ringside is closest to).
    every = [out["ratios"].get(f"incremental/{n} CPU/req") for n in names]
    every = [r for r in every if r is not None]
    if every:
        out["ratios"]["incremental/closest peer CPU/req"] = max(every)
    return out
