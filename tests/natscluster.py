#!/usr/bin/env python3
"""A NATS JetStream cluster on loopback ports, for the fleet's tests and benchmark.

Debian's nats-server, JetStream on, each process bounded in time (timeout 300)
and stopped by its pid; js_request speaks just enough of the NATS protocol to
make JetStream API requests (create, update, inspect a stream).
"""
import base64
import json
import os
import socket
import subprocess
import time

from harness import stop


class Cluster:
    """n JetStream servers: client ports base.., cluster ports base+4.. (base from the pid)."""

    def __init__(self, workdir, n=3):
        self.dir, self.n, self.procs = workdir, n, [None] * n
        self.base = 24000 + os.getpid() % 2000 * 8

    def port(self, i):
        return self.base + i

    def urls(self):
        return ",".join("nats://127.0.0.1:%d" % self.port(i) for i in range(self.n))

    def start(self, i):
        routes = ",".join("nats://127.0.0.1:%d" % (self.base + 4 + j) for j in range(self.n)
                          if j != i)
        args = ["timeout", "300", "nats-server", "-js", "-a", "127.0.0.1",
                "-p", str(self.port(i)), "-sd", os.path.join(self.dir, "js%d" % i),
                "--server_name", "n%d" % i]
        if self.n > 1:
            args += ["--cluster_name", "mpt", "--cluster",
                     "nats://127.0.0.1:%d" % (self.base + 4 + i), "--routes", routes]
        log = open(os.path.join(self.dir, "nats%d.log" % i), "ab")
        self.procs[i] = subprocess.Popen(args, stdout=log, stderr=log)

    def start_all(self):
        for i in range(self.n):
            self.start(i)
        self.wait_ready()

    def stop(self, i):
        if self.procs[i]:
            stop(self.procs[i], 10)
        self.procs[i] = None

    def stop_all(self):
        for i in range(self.n):
            self.stop(i)

    def wait_ready(self, timeout=30):
        """Until JetStream answers (a cluster elects its meta leader first)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                r = js_request(self.port(0), "$JS.API.INFO", b"")
                if "error" not in r:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("JetStream did not come up")


# JetStream answers before the cluster can act: no meta leader yet, or too few peers
# known for an R3 stream. Waited out, as mptrace ship waits it out.
FORMING = (10005, 10006, 10007, 10008, 10009)


def js_stream_create(port, cfg, timeout=30):
    """Create a stream, retrying while the cluster is still forming; the last answer."""
    end = time.monotonic() + timeout
    while True:
        r = js_request(port, "$JS.API.STREAM.CREATE." + cfg["name"], json.dumps(cfg).encode())
        if r.get("error", {}).get("err_code") not in FORMING or time.monotonic() > end:
            return r
        time.sleep(0.5)


def js_request(port, subject, payload, timeout=5):
    """One JetStream API request over the NATS text protocol."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    f = s.makefile("rb")
    f.readline()  # INFO
    s.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nSUB _INBOX.fleet 1\r\n')
    s.sendall(b"PUB %s _INBOX.fleet %d\r\n%s\r\n" % (subject.encode(), len(payload), payload))
    return _answer(s, f)


def _answer(s, f):
    """The JSON of the first message on the connection's inbox; the connection closed."""
    while True:
        line = f.readline()
        if not line:
            raise OSError("connection closed")
        if line.startswith(b"PING"):
            s.sendall(b"PONG\r\n")
        elif line.startswith(b"MSG"):
            n = int(line.split()[-1])
            data = f.read(n + 2)[:n]
            s.close()
            return json.loads(data)
        elif line.startswith(b"-ERR"):
            raise OSError(line.decode())




def js_republish(port, stream, seq, timeout=5):
    """Store message @seq of @stream again, headers and all (its Nats-Msg-Id too, so the
    stream's duplicate window must have passed): the stream's answer."""
    got = js_request(port, "$JS.API.STREAM.MSG.GET." + stream, json.dumps({"seq": seq}).encode())
    m = got["message"]
    hdrs, data = base64.b64decode(m.get("hdrs", "")), base64.b64decode(m.get("data", ""))
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    f = s.makefile("rb")
    f.readline()  # INFO
    s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n'
              b"SUB _INBOX.repub 1\r\n")
    s.sendall(b"HPUB %s _INBOX.repub %d %d\r\n%s%s\r\n" % (
        m["subject"].encode(), len(hdrs), len(hdrs) + len(data), hdrs, data))
    return _answer(s, f)
