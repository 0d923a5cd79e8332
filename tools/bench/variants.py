"""The servers compared: ringside in each mode and wait strategy, and nginx."""
import functools
import os

import servers

_NGINX_CONF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nginx.conf.template")
WAITS = ("submit_and_wait", "submit_then_wait", "busy_poll")


class Variant:
    def __init__(self, name, start):
        self.name = name
        self.start = start  # start(log_path) -> servers.Server


def ringside(binary, incremental, wait="submit_and_wait", ring_idle_ms=2000, name=None,
             handler_threads=0):
    name = name or ("ringside-incremental" if incremental else "ringside-shared")
    flags = [f"--incremental={str(incremental).lower()}", f"--wait={wait}",
             f"--ring_idle_ms={ring_idle_ms}", f"--handler_threads={handler_threads}"]
    return Variant(name, functools.partial(servers.start_ringside, binary, name, flags))


def nginx():
    return Variant("nginx", functools.partial(servers.start_nginx, _NGINX_CONF))


def peers(binary, ring_idle_ms=2000):
    """ringside incremental, ringside shared and nginx: the three every profile compares."""
    return [ringside(binary, True, ring_idle_ms=ring_idle_ms),
            ringside(binary, False, ring_idle_ms=ring_idle_ms),
            nginx()]


def worker_modes(binary, ring_idle_ms=2000):
    """Each buffer mode with the app inline and on one worker thread (same CPU as the
    reactor: the server is pinned), so CPU per request says what handing off costs."""
    return [ringside(binary, incremental, ring_idle_ms=ring_idle_ms, handler_threads=threads,
                     name=f"{'incremental' if incremental else 'shared'}-"
                          f"{'workers' if threads else 'inline'}")
            for incremental in (True, False) for threads in (0, 1)]


def wait_strategies(binary):
    return [ringside(binary, True, wait=w, name=w) for w in WAITS]
