"""PNG bar charts of the summary, drawn by gnuplot (gnuplot-nox, installed by ./bazelw)."""
import os
import subprocess

from summary import INC, NGINX, SHARED

PEERS = (INC, SHARED, NGINX)


def _histogram(path, title, ylabel, columns, rows, log=False):
    """rows: [(label, [value per column or None])], drawn as clustered bars; log: a log y
    axis, for figures that span orders of magnitude across the rows."""
    yaxis = "set logscale y\nset yrange [*:*]" if log else "set yrange [0:*]"
    header = "label " + " ".join(f'"{c}"' for c in columns)
    data = "\n".join(f'"{label}" ' + " ".join("?" if v is None else f"{v:.6g}" for v in values)
                     for label, values in rows)
    script = f"""
set terminal pngcairo size 960,540 font "sans,11"
set output "{path}"
set title "{title}"
set ylabel "{ylabel}"
set datafile missing "?"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
{yaxis}
set format y "%.1s%c"
set grid ytics
set key outside bottom center horizontal
$data << EOD
{header}
{data}
EOD
plot for [i=2:{len(columns) + 1}] $data using i:xtic(1) title columnheader(i)
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    return os.path.basename(path)


def _profile_rows(throughput, key, variants):
    return [(name, [p["variants"].get(v, {}).get(key) for v in variants])
            for name, p in throughput.items()]


def draw(summary, out):
    """Draws every chart the summary has data for; returns their file names."""
    charts = []
    throughput = summary.get("throughput")
    if throughput:
        charts.append(_histogram(os.path.join(out, "throughput.png"),
                                 "Throughput (median of rounds)", "requests/s (log scale)", PEERS,
                                 _profile_rows(throughput, "req_per_s", PEERS), log=True))
        charts.append(_histogram(os.path.join(out, "cpu_per_request.png"),
                                 "Server CPU per request (utime+stime), lower is better",
                                 "CPU microseconds/request", PEERS,
                                 _profile_rows(throughput, "cpu_us_per_req", PEERS)))
    peers = summary.get("peers")
    if peers:
        names = list(next(iter(peers.values()))["variants"])
        charts.append(_histogram(os.path.join(out, "peers_cpu_per_request.png"),
                                 "Server CPU per request against the HttpArena peers (gcannon)",
                                 "CPU microseconds/request", names,
                                 _profile_rows(peers, "cpu_us_per_req", names)))
    wait = summary.get("wait")
    if wait:
        variants = list(wait["variants"])
        for key, name, label in (("req_per_s", "wait_throughput.png", "requests/s"),
                                 ("cpu_us_per_req", "wait_cpu_per_request.png",
                                  "CPU microseconds/request")):
            charts.append(_histogram(os.path.join(out, name),
                                     "--wait strategies, pipelined-64, incremental", label,
                                     variants, [("pipelined-64",
                                                 [wait["variants"][v][key] for v in variants])]))
    memory = summary.get("memory")
    if memory:
        charts.append(_histogram(os.path.join(out, "memory_per_connection.png"),
                                 "Server RSS per idle keep-alive connection", "KiB/connection",
                                 PEERS, [(f"{n} connections",
                                          [m.get(v, {}).get("kib_per_conn") for v in PEERS])
                                         for n, m in memory.items()]))
    return charts
