"""ringside's benchmark suite (issues 6 and 16; docs/BENCHMARKS.md): throughput and server CPU
per request against nginx and between ringside's modes, against the fastest HttpArena
engines when given a peers build (--peers_dir), the --wait strategies, idle-connection
memory, buffer efficiency from the admin service, and the MPSC queue benchmark.

Started by bench.sh (`./bazelw run //tools/bench -- --out=results/`), which builds the
optimized binaries and passes their paths. Writes OUT/results.md, OUT/results.json, PNG
charts and the servers' logs (OUT/logs/).
"""
import argparse
import datetime
import os
import platform
import subprocess
import sys

import admin_stats
import charts
import memory
import profiles
import queue_bench
import report
import summary
import targets
import throughput
import variants

SECTIONS = ("throughput", "peers", "workers", "wait", "memory", "queue")
IDLE_SIZES = (1000, 10000, 19000)  # 19,000: under the 20,000 files a process may open here
RING_IDLE_MS = 2000


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="results", help="results folder (created)")
    p.add_argument("--quick", action="store_true",
                   help="development run: 1 round, 2 s per measurement, 1 s warm-up")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (A B C A B C ...)")
    p.add_argument("--seconds", type=int, default=10, help="measured wrk run, seconds")
    p.add_argument("--warmup", type=int, default=2, help="wrk warm-up before each run, s")
    p.add_argument("--sections", default=",".join(SECTIONS),
                   help=f"comma-separated subset of {','.join(SECTIONS)}")
    p.add_argument("--peers_dir", default=None,
                   help="where ../shared/peers/build.sh built the HttpArena peers (its "
                        "PEERS_DIR): adds the peers section, and gcannon replaces wrk "
                        "wherever it can produce the same load")
    p.add_argument("--server", required=True, help="optimized //:server binary")
    p.add_argument("--queue_benchmark", required=True,
                   help="optimized //queue:mpsc_queue_benchmark binary")
    p.add_argument("--admin_proto", required=True, help="services/admin/admin.proto")
    args = p.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.warmup = 1, 2, 1
    args.sections = args.sections.split(",")
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        p.error(f"unknown sections: {', '.join(sorted(unknown))}")
    args.gcannon = variants.gcannon_binary(args.peers_dir)
    if args.peers_dir and not args.gcannon:
        p.error(f"--peers_dir={args.peers_dir}: no gcannon/gcannon built there")
    if not args.peers_dir and "peers" in args.sections:
        args.sections.remove("peers")  # the suite runs as it did without a peers build
    return args


def _command_output(cmd):
    try:
        done = subprocess.run(cmd, capture_output=True, text=True)
        return (done.stdout + done.stderr).strip().splitlines()[0]
    except (OSError, IndexError):
        return "unknown"


def machine(args):
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f
                    if line.startswith("model name")), "unknown")
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "kernel": platform.release(),
        "cpu": f"{cpu} ({os.cpu_count()} CPUs)",
        "wrk": _command_output(["wrk", "--version"]),
        "gcannon": args.gcannon or "not given (no --peers_dir): wrk measures every profile",
        # The machine is shared: what else ran shows here, next to the figures.
        "load average (1, 5, 15 min) at the start": args.load_at_start,
        "load average (1, 5, 15 min) at the end": _load_average(),
        "nginx": _command_output(["nginx", "-v"]),
        "method": "server on CPU 0 (--reactors=1), load on CPU 1, loopback; fresh server "
                  f"per run; {args.rounds} interleaved round(s) of {args.seconds} s after "
                  f"{args.warmup} s warm-up; medians",
        "mode": "quick (development, not for publication)" if args.quick else "full",
    }


def _load_average():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _section(title):
    print(f"== {title}", file=sys.stderr, flush=True)


def main():
    args = parse_args()
    args.load_at_start = _load_average()
    out = os.path.abspath(args.out)
    log_dir = os.path.join(out, "logs")
    os.makedirs(log_dir, exist_ok=True)
    raw, result = {}, {}

    if "throughput" in args.sections:
        _section("throughput and CPU per request")
        admin = admin_stats.AdminClient(args.admin_proto)
        if admin.error:
            print(f"admin service unavailable: {admin.error}", file=sys.stderr)
        peers = variants.peers(args.server, RING_IDLE_MS)
        raw["throughput"] = {
            p.name: throughput.interleaved(peers, p, args.rounds, args.seconds, args.warmup,
                                           log_dir, admin, args.gcannon)
            for p in profiles.ALL}
        result["throughput"] = {name: summary.throughput(per)
                                for name, per in raw["throughput"].items()}
        _report_admin(result["throughput"])
    if "peers" in args.sections:
        _section("against the HttpArena peers (gcannon)")
        arena = variants.http_arena(args.server, args.peers_dir, RING_IDLE_MS)
        raw["peers"] = {
            p.name: throughput.interleaved(arena, p, args.rounds, args.seconds, args.warmup,
                                           log_dir, gcannon=args.gcannon)
            for p in profiles.PEERS}
        result["peers"] = {name: summary.peers(per) for name, per in raw["peers"].items()}
    if "workers" in args.sections:
        _section("worker mode (--handler_threads=1) against inline")
        workers = variants.worker_modes(args.server, RING_IDLE_MS)
        raw["workers"] = {
            p.name: throughput.interleaved(workers, p, args.rounds, args.seconds, args.warmup,
                                           log_dir, gcannon=args.gcannon)
            for p in (profiles.PIPELINED_64, profiles.UPLOAD_64)}
        result["workers"] = {name: summary.workers(per)
                             for name, per in raw["workers"].items()}
    if "wait" in args.sections:
        _section("--wait strategies")
        raw["wait"] = throughput.interleaved(
            variants.wait_strategies(args.server), profiles.PIPELINED_64, args.rounds,
            args.seconds, args.warmup, log_dir)
        result["wait"] = summary.throughput(raw["wait"])
    if "memory" in args.sections:
        _section("idle connections")
        # Twice the idle period and a second more: every connection has given its ring back.
        idle_s = 2 * RING_IDLE_MS / 1000 + 1
        raw["memory"] = memory.interleaved(variants.peers(args.server, RING_IDLE_MS),
                                           IDLE_SIZES, args.rounds, idle_s, log_dir)
        result["memory"] = {n: summary.memory(per) for n, per in raw["memory"].items()}
    queue_output = None
    if "queue" in args.sections:
        _section("MPSC queue benchmark")
        queue_output = queue_bench.run(args.queue_benchmark)

    verdicts = targets.evaluate(result)
    drawn = charts.draw(result, out)
    report.write(out, machine(args), raw, result, verdicts, drawn, queue_output)
    for row in verdicts:
        print(f"{row['verdict']:>16}  {row['target']}: {row['shown']}")
    print(f"results: {os.path.join(out, 'results.md')}")


def _report_admin(throughput_summary):
    """Says once, on the console, why the buffer figures are missing, if they are."""
    for profile in throughput_summary.values():
        for figures in profile["variants"].values():
            if figures["buffers"] and "unavailable" in figures["buffers"]:
                print(f"admin service unavailable: {figures['buffers']['unavailable']}",
                      file=sys.stderr)
                return


if __name__ == "__main__":
    main()
