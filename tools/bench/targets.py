"""The targets of issues 6 and 16, each printed PASS or MISS next to the figure it is held
against. A figure that was not measured (section skipped, admin service unavailable, no
peers build) is "n/a"."""
from summary import INC, NGINX

IDLE_KIB_NGINX = 0.55  # issue 16: nginx's figure at 10,000 idle connections

PIPELINED = ("pipelined-64", "pipelined-512")


def _verdict(value, ok):
    if value is None:
        return "n/a"
    return "PASS" if ok(value) else "MISS"


def _row(target, value, shown, verdict):
    return {"target": target, "value": value, "shown": shown, "verdict": verdict}


def evaluate(summary):
    rows = []
    throughput = summary.get("throughput", {})
    for name in PIPELINED:
        ratio = throughput.get(name, {}).get("ratios", {}).get("ringside/nginx CPU/req")
        rows.append(_row(f"{name}: ringside CPU/request <= 1/4 of nginx's", ratio,
                         _fmt(ratio, "{:.3f}x"), _verdict(ratio, lambda r: r <= 0.25)))
    for name, profile in throughput.items():
        ratio = profile["ratios"].get("incremental/shared req/s")
        verdict = _verdict(ratio, lambda r: r >= 1.0)
        if verdict == "MISS" and ratio >= 0.95:
            verdict = "MISS (within 5%)"
        rows.append(_row(f"{name}: incremental/shared req/s >= 1.0 (never < 0.95)", ratio,
                         _fmt(ratio, "{:.3f}x"), verdict))
    idle = summary.get("memory", {}).get(10000, {}).get(INC, {}).get("kib_per_conn")
    rows.append(_row("10,000 idle incremental connections: <= 2 KiB RSS each", idle,
                     _fmt(idle, "{:.2f} KiB"), _verdict(idle, lambda k: k <= 2.0)))
    for n in (10000, 19000):
        per = summary.get("memory", {}).get(n, {})
        idle = per.get(INC, {}).get("kib_per_conn")
        nginx = per.get(NGINX, {}).get("kib_per_conn")
        limit = min(IDLE_KIB_NGINX, nginx) if nginx is not None else IDLE_KIB_NGINX
        rows.append(_row(f"{n:,} idle incremental connections: <= {IDLE_KIB_NGINX} KiB and <= "
                         "nginx's in the same run", idle,
                         _fmt(idle, "{:.3f} KiB") + (f" (nginx {nginx:.3f})" if nginx else ""),
                         _verdict(idle, lambda k: k <= limit)))
    rows += _peer_rows(summary.get("peers", {}))
    for name in PIPELINED:
        buffers = throughput.get(name, {}).get("variants", {}).get(INC, {}).get("buffers")
        fill = buffers.get("retired_fill") if buffers else None
        shown = "admin service unavailable" if buffers and "unavailable" in buffers \
            else _fmt(fill, "{:.1%}")
        rows.append(_row(f"{name}: incremental buffers retire >= 99% full", fill, shown,
                         _verdict(fill, lambda f: f >= 0.99)))
    return rows


def _peer_rows(peers):
    """Issue 16's goals, server CPU per request against the HttpArena peers."""
    rows = []
    for name in ("pipelined-16-c64", "pipelined-16-c512"):
        r = peers.get(name, {}).get("ratios", {}).get("incremental/best peer CPU/req")
        rows.append(_row(f"{name}: ringside CPU/request <= the best peer's", r,
                         _fmt(r, "{:.3f}x"), _verdict(r, lambda x: x <= 1.0)))
    r = peers.get("keepalive-c64", {}).get("ratios", {}).get("incremental/closest peer CPU/req")
    rows.append(_row("keepalive-c64: ringside CPU/request >= 5% below every peer's", r,
                     _fmt(r, "{:.3f}x"), _verdict(r, lambda x: x <= 0.95)))
    churn = peers.get("churn-c64", {}).get("ratios", {})
    for other in ("ringside-shared", NGINX):
        r = churn.get(f"incremental/{other} CPU/req")
        rows.append(_row(f"churn-c64: incremental CPU/request <= {other}'s", r,
                         _fmt(r, "{:.3f}x"), _verdict(r, lambda x: x <= 1.0)))
    return rows


def _fmt(value, pattern):
    return pattern.format(value) if value is not None else "not measured"
