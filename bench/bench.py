#!/usr/bin/env python3
"""mptrace against no tracer and against bpftrace, side by side, in one interleaved run.

Called by bench/run.sh, which installs and builds what this needs. Writes a
Markdown report (bench/results.md by default). --smoke runs every step with
tiny counts, so the test suite keeps this script from rotting.
"""
import argparse
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

TRACER_CPU, WORKLOAD_CPU = "1", "0"
BASELINE = None  # --baseline: another build's mptrace, measured in the same run

BPFTRACE_PROG = r"""
tracepoint:syscalls:sys_enter_move_pages {
  printf("enter pid=%d tid=%d target=%d count=%lu pages=%p nodes=%p status=%p flags=%d\n",
         pid, tid, args->pid, args->nr_pages, args->pages, args->nodes, args->status, args->flags);
}
tracepoint:syscalls:sys_exit_move_pages { printf("exit pid=%d tid=%d ret=%d\n", pid, tid, args->ret); }
"""


def baseline_has_fair_rate(binary):
    """Whether @binary knows --fair-rate: the baseline must record every call as this one does."""
    out = subprocess.run([binary, "--help"], capture_output=True, text=True)
    return "--fair-rate" in out.stdout + out.stderr


class Tracer:
    """One tracer run: started pinned to TRACER_CPU, ready before the workload starts."""

    def __init__(self, kind, build, tmp):
        self.kind, self.tmp = kind, tmp
        self.out = os.path.join(tmp, kind + ".out")
        if kind == "bpftrace":
            prog = os.path.join(tmp, "mp.bt")
            with open(prog, "w") as f:
                f.write(BPFTRACE_PROG)
            argv = ["bpftrace", "-o", self.out, prog]
        else:
            binary = os.path.join(BASELINE if kind == "baseline-json" else build, "mptrace")
            argv = [binary, "--attach", "tracepoint", "-o", self.out]
            argv += {"mptrace-json": ["-f", "json"],
                     "baseline-json": ["-f", "json"],
                     "mptrace-json-nocompat": ["-f", "json", "--no-compat"],
                     "mptrace-json+capture": ["-f", "json", "--capture",
                                              os.path.join(tmp, "c.mpcap")],
                     "mptrace-table": ["-f", "table"]}[kind]
            # the cost of recording every call: a loop over its fair share is summed
            # (a baseline too old to have --fair-rate records every call anyway)
            if kind != "baseline-json" or baseline_has_fair_rate(binary):
                argv += ["--fair-rate", "0"]
        if kind == "mptrace-json+capture":
            # a capture is never overwritten: each run makes its own
            self.capture = os.path.join(tmp, "c.mpcap")
            if os.path.exists(self.capture):
                os.unlink(self.capture)
        self.p = subprocess.Popen(["taskset", "-c", TRACER_CPU] + argv,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.err = b""
        deadline = time.monotonic() + 60
        while not self.ready():
            if time.monotonic() > deadline or self.p.poll() is not None:
                raise RuntimeError("%s did not start: %s" % (kind, self.err.decode()))
            time.sleep(0.05)
        if kind == "bpftrace":
            # it says "Attaching" before it attaches, and a SIGINT meanwhile is lost
            time.sleep(1.5)

    def ready(self):
        if self.kind == "bpftrace":
            try:
                with open(self.out, "rb") as f:
                    return b"Attaching" in f.read(4096)
            except FileNotFoundError:
                return False
        os.set_blocking(self.p.stderr.fileno(), False)
        try:
            chunk = self.p.stderr.read()
        except (BlockingIOError, TypeError):
            chunk = None
        if chunk:
            self.err += chunk
        # any build's ready line (--baseline runs an older one): "tracing ... via MODE"
        return b"mptrace: tracing " in self.err and b" via " in self.err

    def reaped(self, sig):
        """Send @sig and wait up to 10 s for the tracer to end: its rusage, or None."""
        self.p.send_signal(sig)
        for _ in range(100):
            pid, _, ru = os.wait4(self.p.pid, os.WNOHANG)
            if pid:
                return ru
            time.sleep(0.1)
        return None

    def stop(self):
        """Stop it; returns what it delivered and what it cost."""
        time.sleep(0.2)
        ru = self.reaped(signal.SIGINT) or \
            self.reaped(signal.SIGTERM if self.kind == "bpftrace" else signal.SIGKILL)
        if ru is None:
            self.p.send_signal(signal.SIGKILL)
            _, _, ru = os.wait4(self.p.pid, 0)
        self.p.returncode = 0
        os.set_blocking(self.p.stderr.fileno(), True)
        self.err += self.p.stderr.read()
        r = {"cpu_s": ru.ru_utime + ru.ru_stime, "maxrss_kb": ru.ru_maxrss}
        if self.kind == "bpftrace":
            with open(self.out, "rb") as f:
                data = f.read()
            r["events"] = data.count(b"\nexit ") + data.startswith(b"exit ")
            lost = re.findall(rb"Lost (\d+) events", data + self.err)
            r["dropped"] = sum(int(x) for x in lost)
        else:
            m = re.search(rb"mptrace: (\d+) events, (\d+) dropped", self.err)
            if not m:
                raise RuntimeError("no summary from mptrace: " + self.err.decode())
            r["events"], r["dropped"] = int(m.group(1)), int(m.group(2))
        os.unlink(self.out)
        return r


def workload(build, *args):
    out = subprocess.run(["taskset", "-c", WORKLOAD_CPU, os.path.join(build, "bench", "mp_bench")]
                         + [str(a) for a in args], capture_output=True, text=True, check=True,
                         timeout=300)
    f = out.stdout.split()
    return {"calls": int(f[1]), "ns_per_call": float(f[5]), "rate": float(f[7])}


def traced(kind, build, tmp, *args):
    # each step named as it starts: a step that hangs is the last one said
    print("bench: %s %s" % (kind, " ".join(str(a) for a in args)), file=sys.stderr, flush=True)
    t = Tracer(kind, build, tmp) if kind != "none" else None
    w = workload(build, *args)
    r = t.stop() if t else {}
    r.update(w)
    return r


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", default="bench/results.md")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--calls", type=int, default=200000)
    ap.add_argument("--smoke", action="store_true", help="tiny counts: check that every step runs")
    ap.add_argument("--baseline", metavar="BUILD",
                    help="also measure BUILD/mptrace (e.g. the last release) in the same run")
    a = ap.parse_args()
    global BASELINE
    BASELINE = a.baseline
    if a.smoke:
        a.reps, a.calls = 1, 2000
    have_bpftrace = subprocess.run(["sh", "-c", "command -v bpftrace"],
                                   capture_output=True).returncode == 0
    kinds = ["none", "mptrace-json", "mptrace-json-nocompat", "mptrace-json+capture",
             "mptrace-table"] + (["baseline-json"] if a.baseline else [])
    if have_bpftrace:
        kinds.append("bpftrace")
    else:
        print("bench: bpftrace is not installed; its rows are left out", file=sys.stderr)
    tmp = tempfile.mkdtemp(prefix="mptrace-bench-")
    micro = {(k, n): [] for k in kinds for n in (1, 64)}
    costs = {k: [] for k in kinds}

    # 1. ns per call, interleaved: A B C D E, A B C D E, ... in a rotating order
    for rep in range(a.reps):
        order = kinds[rep % len(kinds):] + kinds[:rep % len(kinds)]
        for n in (1, 64):
            calls = a.calls if n == 1 else max(a.calls // 8, 100)
            if n == 64:
                order_n = order
            else:
                order_n = order
            for k in order_n:
                if k == "bpftrace" and not a.smoke:
                    c = max(calls // 20, 1000)  # ~20 us a call: keep its runs short
                else:
                    c = calls
                r = traced(k, a.build, tmp, "mp", n, c)
                micro[(k, n)].append(r)
                if n == 1 and k != "none" and r.get("events"):
                    costs[k].append(r)
        print("bench: rep %d/%d done" % (rep + 1, a.reps), file=sys.stderr)

    # 2. the tax on a syscall mptrace does not trace: with the 32-bit gates' raw
    # sys_enter/sys_exit hooks (which run for every syscall) and without them
    tax_kinds = ["none", "mptrace-json", "mptrace-json-nocompat"]
    tax = {k: [] for k in tax_kinds}
    for rep in range(a.reps):
        for k in tax_kinds[rep % 3:] + tax_kinds[:rep % 3]:
            tax[k].append(traced(k, a.build, tmp, "getppid", a.calls * 10)["ns_per_call"])

    # 2b. the process tracker's cost: fork + exec + exit, with and without mptrace
    spawn_kinds = ["none", "mptrace-json"] + (["baseline-json"] if a.baseline else [])
    spawns = {k: [] for k in spawn_kinds}
    for rep in range(a.reps):
        for k in spawn_kinds[rep % len(spawn_kinds):] + spawn_kinds[:rep % len(spawn_kinds)]:
            spawns[k].append(traced(k, a.build, tmp, "spawn", 20 if a.smoke else 2000)
                             ["ns_per_call"])

    # 3. the highest call rate delivered with no loss, from one and two threads
    rates = [25000, 50000, 100000, 200000, 400000, 800000, 1200000, 1600000, 2400000]
    if a.smoke:
        rates = [10000, 20000]
    knee = {}
    knee_kinds = ["mptrace-json"] + (["bpftrace"] if have_bpftrace else [])
    for threads in (1, 2):
        for k in knee_kinds:
            best, steps = None, []
            for rate in rates:
                calls = max(int(rate * (0.05 if a.smoke else 0.5)), 100)
                r = traced(k, a.build, tmp, "mp", 1, calls, rate, threads)
                lossless = r["dropped"] == 0 and r["events"] >= r["calls"]
                steps.append((rate, r["rate"], r["events"], r["calls"], r["dropped"], lossless))
                if not lossless:
                    break
                best = r["rate"]
                if r["rate"] < 0.9 * rate:
                    break  # the workload itself cannot go faster with this tracer
            knee[(k, threads)] = (best, steps)

    prof = profile(a, tmp)
    write_report(a, kinds, micro, tax, knee, costs, have_bpftrace, prof, spawns)
    print("bench: wrote %s" % a.out, file=sys.stderr)


def profile(a, tmp):
    """Where the time goes: the BPF programs' own run time (kernel.bpf_stats_enabled)
    and, when perf is installed, the reader's hottest functions."""
    out = {"bpf": [], "perf": []}
    calls = a.calls
    try:
        subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=1"], check=True)
        t = Tracer("mptrace-json", a.build, tmp)
        workload(a.build, "mp", 1, calls)
        show = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True)
        import json
        for prog in json.loads(show.stdout or "[]"):
            if prog.get("name") in ("tp_enter", "tp_exit", "tp_compat_enter",
                                    "tp_compat_exit") and prog.get("run_cnt"):
                out["bpf"].append((prog["name"], prog["run_time_ns"] / prog["run_cnt"],
                                   prog["run_cnt"]))
        t.stop()
    except (subprocess.CalledProcessError, FileNotFoundError, RuntimeError) as e:
        print("bench: no BPF run-time stats: %s" % e, file=sys.stderr)
    finally:
        subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=0"])
    if subprocess.run(["sh", "-c", "command -v perf"], capture_output=True).returncode == 0:
        data = os.path.join(tmp, "perf.data")
        t = Tracer("mptrace-json", a.build, tmp)
        rec = subprocess.Popen(["perf", "record", "-q", "-o", data, "-p", str(t.p.pid)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        workload(a.build, "mp", 1, calls)
        time.sleep(0.3)
        rec.send_signal(signal.SIGINT)
        rec.wait()
        t.stop()
        rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "symbol",
                              "--stdio"], capture_output=True, text=True).stdout
        for line in rep.splitlines():
            m = re.match(r"\s+([\d.]+)%\s+\[(.)\]\s+(\S+)", line)
            if m and len(out["perf"]) < 12:
                out["perf"].append((float(m.group(1)), m.group(2), m.group(3)))
    return out


def write_report(a, kinds, micro, tax, knee, costs, have_bpftrace, prof, spawns):
    def ns(rows):
        return [r["ns_per_call"] for r in rows]

    lines = ["# mptrace benchmark results", ""]
    uname = platform.uname()
    bt = subprocess.run(["sh", "-c", "bpftrace --version 2>/dev/null"], capture_output=True,
                        text=True).stdout.strip() or "not installed"
    ver = subprocess.run([os.path.join(a.build, "mptrace"), "--version"], capture_output=True,
                         text=True).stdout.strip()
    lines += ["Machine: %s, kernel %s, %d CPUs; %s; %s. Tracer pinned to CPU %s, workload to "
              "CPU %s; median of %d interleaved repetitions%s." %
              (uname.node, uname.release, os.cpu_count(), ver, bt, TRACER_CPU, WORKLOAD_CPU,
               a.reps, " (SMOKE RUN: tiny counts, numbers meaningless)" if a.smoke else ""),
              "", "Generated by `bench/run.sh` on %s." % time.strftime("%Y-%m-%d %H:%M UTC",
                                                                   time.gmtime()), ""]
    for n in (1, 64):
        base = med(ns(micro[("none", n)]))
        btov = med(ns(micro.get(("bpftrace", n), []))) - base if have_bpftrace else float("nan")
        lines += ["## move_pages(0, %d, pages, NULL, status, 0), tight loop" % n, "",
                  "| configuration | median ns/call | min-max | overhead ns | ratio to no tracer "
                  "| overhead vs bpftrace's | lost |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for k in kinds:
            xs = ns(micro[(k, n)])
            m = med(xs)
            ov = m - base
            lost = sum(r.get("dropped", 0) for r in micro[(k, n)])
            rel = "1/%.0f" % (btov / ov) if k != "none" and ov > 0 and btov == btov else "-"
            lines.append("| %s | %.0f | %.0f-%.0f | %s | %.2fx | %s | %s |" %
                         (k, m, min(xs), max(xs), "-" if k == "none" else "%.0f" % ov,
                          m / base, "-" if k in ("none", "bpftrace") else rel,
                          "-" if k == "none" else lost))
        lines.append("")
    tb, tm, tn = med(tax["none"]), med(tax["mptrace-json"]), med(tax["mptrace-json-nocompat"])
    lines += ["## getppid (a syscall mptrace does not trace)", "",
              "| configuration | median ns/call | min-max |", "| --- | ---: | ---: |"]
    for k, label in (("none", "none"), ("mptrace-json", "mptrace attached (32-bit gates too)"),
                     ("mptrace-json-nocompat", "mptrace attached, --no-compat")):
        lines.append("| %s | %.1f | %.1f-%.1f |" % (label, med(tax[k]), min(tax[k]), max(tax[k])))
    lines += ["", "Added: %.1f ns; %.1f ns with --no-compat, so the raw sys_enter/sys_exit hooks "
              "that see the 32-bit gates cost %.1f ns per untraced syscall." %
              (tm - tb, tn - tb, tm - tn), ""]
    sb = med(spawns["none"])
    lines += ["## fork + exec /bin/true + exit + wait (the process tracker's cost)", "",
              "| configuration | median us/spawn | min-max | added us | ratio to no tracer |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for k in spawns:
        m = med(spawns[k])
        lines.append("| %s | %.1f | %.1f-%.1f | %s | %.2fx |" %
                     (k, m / 1000, min(spawns[k]) / 1000, max(spawns[k]) / 1000,
                      "-" if k == "none" else "%.1f" % ((m - sb) / 1000), m / sb))
    lines.append("")
    lines += ["## Highest call rate delivered with no loss (N=1)", "",
              "| tracer | threads | lossless rate (calls/s) | steps: target -> achieved "
              "(events/calls, lost) |", "| --- | ---: | ---: | --- |"]
    for (k, threads), (best, steps) in sorted(knee.items()):
        st = "; ".join("%d -> %.0f (%d/%d, %d)" % (t, r, e, c, d) for t, r, e, c, d, _ in steps)
        lines.append("| %s | %d | %s | %s |" % (k, threads, "%.0f" % best if best else "none",
                                               st))
    lines.append("")
    lines += ["## mptrace's own cost (JSON to a file, N=1 runs)", "",
              "| configuration | peak RSS (MB) | CPU s per million events |", "| --- | ---: | ---: |"]
    for k in kinds:
        if k in ("none",) or not costs[k]:
            continue
        rss = max(r["maxrss_kb"] for r in costs[k]) / 1024
        cpu = med([r["cpu_s"] / r["events"] * 1e6 for r in costs[k]])
        lines.append("| %s | %.1f | %.2f |" % (k, rss, cpu))
    lines.append("")

    # the targets, judged from the numbers above
    base = med(ns(micro[("none", 1)]))
    ov = med(ns(micro[("mptrace-json", 1)])) - base
    btov = med(ns(micro[("bpftrace", 1)])) - base if have_bpftrace else float("nan")
    lossless = knee.get(("mptrace-json", 1), (None,))[0] or 0
    lossless = max(lossless, knee.get(("mptrace-json", 2), (None,))[0] or 0)
    bt_lossless = max(knee.get(("bpftrace", 1), (None,))[0] or 0,
                      knee.get(("bpftrace", 2), (None,))[0] or 0)
    rss = max((r["maxrss_kb"] for r in costs.get("mptrace-json", [])), default=0) / 1024

    def verdict(ok):
        return "met" if ok else "**missed**"

    lines += ["## Targets", "",
              "| target | measured | |", "| --- | --- | --- |",
              "| overhead per traced call (N=1, JSON to a file) under 400 ns | %.0f ns | %s |"
              % (ov, verdict(ov < 400)),
              "| ... and at most 1/40 of bpftrace's | 1/%.0f | %s |"
              % (btov / ov if ov > 0 else 0, verdict(ov > 0 and btov / ov >= 40)),
              "| untraced syscalls: under 15 ns added | %.1f ns | %s |" % (tm - tb,
                                                                       verdict(tm - tb < 15)),
              "| lossless delivery at least 10x bpftrace's | %.0f vs %.0f calls/s (%.1fx) | %s |"
              % (lossless, bt_lossless, lossless / bt_lossless if bt_lossless else 0,
                 verdict(bt_lossless and lossless >= 10 * bt_lossless)),
              "| ... and at least 1.5 million events/s as JSON | %.0f events/s | %s |"
              % (lossless, verdict(lossless >= 1.5e6)),
              "| peak RSS under 16 MB (default settings) | %.1f MB | %s |" % (rss,
                                                                       verdict(rss < 16)),
              "", "Why a target is missed, and what was tried: bench/README.md.", ""]
    lines += ["## Profile", "", "BPF programs' own run time per call "
              "(`kernel.bpf_stats_enabled`, mptrace-json, N=1, which adds ~20 ns to each):", ""]
    for name, per, cnt in prof["bpf"]:
        lines.append("- `%s`: %.0f ns (%d runs)" % (name, per, cnt))
    if prof["perf"]:
        lines += ["", "The reader (mptrace process), `perf record` over the same run; "
                  "`[k]` kernel, `[.]` user:", "", "| % | | symbol |", "| ---: | --- | --- |"]
        for pct, where, sym in prof["perf"]:
            lines.append("| %.1f | %s | `%s` |" % (pct, where, sym))
    lines.append("")
    with open(a.out, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
