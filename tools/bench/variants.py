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


def ringside(binary, incremental, wait="submit_and_wait", ring_idle_ms=2000, name=None):
    name = name or ("ringside-incremental" if incremental else "ringside-shared")
    flags = [f"--incremental={str(incremental).lower()}", f"--wait={wait}",
             f"--ring_idle_ms={ring_idle_ms}"]
    return Variant(name, functools.partial(servers.start_ringside, binary, name, flags))


def nginx():
    return Variant("nginx", functools.partial(servers.start_nginx, _NGINX_CONF))


def peers(binary, ring_idle_ms=2000):
    """ringside incremental, ringside shared and nginx: the three every profile compares."""
    return [ringside(binary, True, ring_idle_ms=ring_idle_ms),
            ringside(binary, False, ring_idle_ms=ring_idle_ms),
            nginx()]


def wait_strategies(binary):
    return [ringside(binary, True, wait=w, name=w) for w in WAITS]
