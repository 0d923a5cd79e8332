"""The servers compared: ringside in each mode and wait strategy, nginx, and (given a peers
build, issue 16) the fastest HttpArena engines."""
import functools
import os

import servers

_HERE = os.path.dirname(os.path.abspath(__file__))
_NGINX_CONF = os.path.join(_HERE, "nginx.conf.template")
_NGINX_HTTPARENA_CONF = os.path.join(_HERE, "nginx_httparena.conf.template")
# Where the peers' build script puts each peer under its PEERS_DIR, and how each is started
# with one worker ("{port}" in the arguments, or $PORT). Notes from their sources: ringzero
# answers a read starting "GET /pipeline " by counting CRLFCRLF (no parsing); rust-epoll
# scans only the request line; neither sends Date.
_PEERS = (
    ("ringzero", "ringzero/server", ["1", "{port}"], {}),
    ("rust-epoll", "rust-epoll/target/release/httparena-rust-epoll", [], {}),
    ("h2o", "h2o/h2o-app", [], {"THREADS": "1"}),
    ("libreactorng", "libreactorng/server", [], {}),
)
_NGINX_MODULE = "nginx/build/ngx_http_httparena_module.so"
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


def http_arena(binary, peers_dir, ring_idle_ms=2000):
    """ringside in both modes, then every HttpArena peer built under peers_dir: nginx with
    HttpArena's module, ringzero, rust-epoll, h2o, libreactorng."""
    out = [ringside(binary, True, ring_idle_ms=ring_idle_ms),
           ringside(binary, False, ring_idle_ms=ring_idle_ms)]
    module = os.path.join(peers_dir, _NGINX_MODULE)
    if os.path.exists(module):
        out.append(Variant("nginx", functools.partial(servers.start_nginx,
                                                      _NGINX_HTTPARENA_CONF, module=module)))
    for name, path, argv, env in _PEERS:
        binary_path = os.path.join(peers_dir, path)
        if os.access(binary_path, os.X_OK):
            out.append(Variant(name, functools.partial(servers.start_process, name,
                                                       [binary_path] + argv, env)))
    return out


def gcannon_binary(peers_dir):
    """The peers build's gcannon, or None."""
    path = os.path.join(peers_dir, "gcannon", "gcannon") if peers_dir else None
    return path if path and os.access(path, os.X_OK) else None
