"""CPU time and memory of a process, from /proc (what the benchmarks charge a server)."""
import os

_US_PER_TICK = 1e6 / os.sysconf("SC_CLK_TCK")


def cpu_us(pid):
    """utime + stime of all the process's threads, in microseconds."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    # The command name may hold spaces or parentheses; the fields after its last ')' don't.
    fields = stat[stat.rindex(")") + 2:].split()
    # Fields 14 and 15 of proc(5); the list starts at field 3.
    return (int(fields[11]) + int(fields[12])) * _US_PER_TICK


def status_kib(pid, key):
    """A 'kB' line of /proc/PID/status, e.g. VmRSS or VmHWM."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(f"{key} not in /proc/{pid}/status")
