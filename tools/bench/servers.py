"""Starts and stops the servers under test, each on CPU 0: ringside in a given mode, nginx,
or a peer of HttpArena's built by the peers' build script (issue 16).

Every measurement gets a fresh server, so no run inherits another's memory or warm state.
"""
import getpass
import os
import resource
import signal
import socket
import string
import subprocess
import tempfile
import time

SERVER_CPU = "0"
NOFILE = 20000  # the per-process hard limit on this machine class


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _raise_nofile():
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    limit = NOFILE if hard == resource.RLIM_INFINITY else min(NOFILE, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


def _wait_listening(port, proc, what):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"{what} is not listening on port {port} after 10 s")


class Server:
    """A running server: `pid` is the process that serves (and is measured)."""

    def __init__(self, name, proc, pid, port, admin=None, workdir=None, log_path=None):
        self.name, self.proc, self.pid, self.port = name, proc, pid, port
        self.admin = admin  # "host:port" of ringside's admin service
        self._workdir, self._log_path = workdir, log_path

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self._workdir:
            # Keep nginx's error log: its temporary directory goes away.
            with open(os.path.join(self._workdir.name, "error.log"), "rb") as src, \
                    open(self._log_path, "ab") as dst:
                dst.write(src.read())
            self._workdir.cleanup()


def start_ringside(binary, name, flags, log_path):
    port, admin_port = free_port(), free_port()
    admin = f"127.0.0.1:{admin_port}"
    cmd = ["taskset", "-c", SERVER_CPU, binary, "--address=127.0.0.1", f"--port={port}",
           "--reactors=1", f"--admin_address={admin}", *flags]
    log = open(log_path, "ab")
    # taskset execs the server, so the child's pid is the server's.
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, preexec_fn=_raise_nofile)
    log.close()
    _wait_listening(port, proc, name)
    return Server(name, proc, proc.pid, port, admin=admin)


def _nginx_worker(master_pid):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with open(f"/proc/{master_pid}/task/{master_pid}/children") as f:
            children = f.read().split()
        if children:
            return int(children[0])
        time.sleep(0.02)
    raise RuntimeError("nginx started no worker")


def start_process(name, argv, env, log_path):
    """A single-process server (an HttpArena peer) that reads its port from $PORT or, where
    argv holds "{port}", from its arguments; one worker, since it may use only CPU 0."""
    port = free_port()
    cmd = ["taskset", "-c", SERVER_CPU] + [a.replace("{port}", str(port)) for a in argv]
    log = open(log_path, "ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, preexec_fn=_raise_nofile,
                            env={**os.environ, **env, "PORT": str(port)})
    log.close()
    _wait_listening(port, proc, name)
    return Server(name, proc, proc.pid, port)


def start_nginx(template_path, log_path, **settings):
    """nginx from a template; `settings` fill its placeholders besides dir, port and user."""
    workdir = tempfile.TemporaryDirectory(prefix="ringside-bench-nginx-")
    port = free_port()
    with open(template_path) as f:
        conf = string.Template(f.read()).substitute(
            dir=workdir.name, port=port, user=getpass.getuser(), **settings)
    conf_path = os.path.join(workdir.name, "nginx.conf")
    with open(conf_path, "w") as f:
        f.write(conf)
    # -e: nginx opens its error log before reading the config, by default under /var/log.
    cmd = ["taskset", "-c", SERVER_CPU, "nginx", "-p", workdir.name, "-c", conf_path,
           "-e", os.path.join(workdir.name, "error.log")]
    log = open(log_path, "ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, preexec_fn=_raise_nofile)
    log.close()
    _wait_listening(port, proc, "nginx")
    # The single worker serves every request; the master only waits for signals.
    return Server("nginx", proc, _nginx_worker(proc.pid), port, workdir=workdir,
                  log_path=log_path)
