"""Holds N idle keep-alive connections, in a process of its own (each process may have at
most 20,000 open files here, so the server and the client each need theirs).

Usage: idle_client.py PORT N. Each connection sends one GET /plaintext and reads the whole
response; then "ready N" is printed, and the connections are held until stdin closes.
"""
import resource
import socket
import sys

REQUEST = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def read_response(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        data += _recv(sock)
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += _recv(sock)


def _recv(sock):
    chunk = sock.recv(4096)
    if not chunk:
        raise ConnectionError("server closed an idle connection")
    return chunk


def main():
    port, n = int(sys.argv[1]), int(sys.argv[2])
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    held = []
    for _ in range(n):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(REQUEST)
        read_response(sock)
        held.append(sock)
    print(f"ready {len(held)}", flush=True)
    sys.stdin.read()
    for sock in held:
        sock.close()


if __name__ == "__main__":
    main()
