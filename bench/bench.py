"""Runs the benchmark's clients round by round against the IGD lab and prints one table.

Run by bench/run.sh, inside the lab's lan namespace, with Debian's /usr/bin/python3 (standard library only).
Clients: the C loop (bench/cloop.c over our libminiupnpc), miniupnpc's Python module built from the pinned
source, the Python-shaped UPnP port and the async layer (bench/MiniUpnp.Net.Bench). Every figure starts from an
empty router; each client removes what it adds; clients are interleaved round by round (their order rotating)
so that the router's drift hits all alike. Medians over the rounds, with min and max, and ratios to the C loop.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

PORT_BASE = 45100           # each client gets its own external ports from here
EMPTY_PROBE_PORT = 45999    # get-specific looks up this (absent) mapping: an empty router
FILL_BASE, FILL_COUNT = 50000, 100


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                env[k.strip()] = v.strip()
    return env


class Client:
    """One client: how to run a fresh-process figure, and a persistent 'serve' process for the per-call figures."""

    def __init__(self, name, argv, env=None, bulk=True, serve=True, listing=True):
        self.name, self.argv, self.env, self.bulk, self.can_serve = name, argv, env, bulk, serve
        self.listing = listing  # takes part in the listing figures (the AOT client does not: same code as the JIT one)
        self.proc = None

    def _env(self):
        env = dict(os.environ)
        env.update(self.env or {})
        return env

    def once(self, *args, timeout=60):
        out = subprocess.run(self.argv + [str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                             env=self._env())
        return parse(out.stdout, f"{self.name} {' '.join(map(str, args))}: {out.stderr.strip()[-300:]}")

    def start(self):
        self.proc = subprocess.Popen(self.argv + ["serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=self._env(), bufsize=1)

    def ask(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name}: serve process ended ({self.proc.stderr.read()[-300:]})")
        return parse(line, f"{self.name} {command}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()  # our own child, by its handle
                self.proc.wait(timeout=10)


def parse(text, what):
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            obj = json.loads(line)
            if "error" in obj:
                raise RuntimeError(f"{what}: {obj['error']}")
            return obj
    raise RuntimeError(f"{what}: no answer ({text.strip()[-300:]})")


def rotated(items, r):
    k = r % len(items)
    return items[k:] + items[:k]


def stats(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values),
            "values": values}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", required=True, help="the lab's lab.env")
    ap.add_argument("--cloop", required=True)
    ap.add_argument("--dotnet-client", required=True)
    ap.add_argument("--dotnet-aot-client", help="the same .NET client published with NativeAOT (optional)")
    ap.add_argument("--dotnet-r2r-client", help="the same .NET client published ReadyToRun (optional; start figures only)")
    ap.add_argument("--python-ref", required=True, help="directory of the reference miniupnpc module")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "7")))
    ap.add_argument("--get-ops", type=int, default=60)
    ap.add_argument("--adddel-pairs", type=int, default=24)
    ap.add_argument("--bulk-rounds", type=int, default=int(os.environ.get("BENCH_BULK_ROUNDS", "5")))
    ap.add_argument("--generic-rounds", type=int, default=int(os.environ.get("BENCH_GENERIC_ROUNDS", "1")))
    ap.add_argument("--json", help="write the raw results here")
    a = ap.parse_args()
    if a.get_ops < 4 or a.adddel_pairs < 4:
        ap.error("--get-ops and --adddel-pairs need at least 4 calls: a round's figure is their lower quartile")

    lab = read_env(a.env)
    url = lab["ROOTDESC_URL"]
    here = os.path.dirname(os.path.abspath(__file__))
    py = Client("Python module", ["/usr/bin/python3", os.path.join(here, "pyclient.py")], {"PYTHONPATH": a.python_ref},
                bulk=False)
    c = Client("C loop", [a.cloop])
    port = Client("UPnP port", [a.dotnet_client, "port"], bulk=False)
    asy = Client("async layer", [a.dotnet_client, "async"])
    lease = Client("async PortMappingLease", [a.dotnet_client, "lease"], serve=False)
    clients = [c, py, port, asy]
    if a.dotnet_aot_client:
        clients.append(Client(AOT, [a.dotnet_aot_client, "async"], listing=False))
    start_clients = clients + [lease]
    if a.dotnet_r2r_client:
        # Start figures only: once its code has run, a ReadyToRun process runs what the JIT client runs.
        start_clients.append(Client(R2R, [a.dotnet_r2r_client, "async"], serve=False, listing=False))
    ports = {cl.name: PORT_BASE + i for i, cl in enumerate(start_clients)}
    results = {}
    t_all = time.monotonic()

    def record(figure, client, value):
        results.setdefault(figure, {}).setdefault(client.name, []).append(value)

    # The C client's serve process doubles as the checker of the router's state.
    checker = Client("checker", [a.cloop])
    checker.start()
    checker.ask(f"open {url}")

    def assert_empty(figure):
        n = checker.ask("list bulk")["count"]
        if n:
            raise RuntimeError(f"{figure}: the router holds {n} mappings before the figure (it must start empty)")

    try:
        assert_empty("cold")
        log(f"cold start -> mapped: {a.rounds} rounds, fresh processes")
        for r in range(a.rounds):
            for cl in rotated(start_clients, r):
                record("cold", cl, cl.once("cold", ports[cl.name])["ms"])
        assert_empty("warm")
        log(f"warm start -> mapped: {a.rounds} rounds, fresh processes")
        for r in range(a.rounds):
            for cl in rotated(start_clients, r):
                record("warm", cl, cl.once("warm", url, ports[cl.name])["ms"])

        for cl in clients:
            cl.start()
            cl.ask(f"open {url}")
        assert_empty("get")
        # Per-call figures are interleaved call by call, not only round by round, and a round's figure is the lower
        # quartile of its calls. The lab router's latency is bimodal: a third or more of add+delete pairs take ~30 or
        # ~90 ms more, every client alike (measured over 60 interleaved pairs each: C loop 25, UPnP port 32, async layer
        # 23), so a mean, or even a median near the boundary, would tell which client drew more of them rather than
        # what the client costs.
        def per_call(figure, ops, command):
            for r in range(a.rounds):
                times = {cl.name: [] for cl in clients}
                for i in range(ops):
                    for cl in rotated(clients, r + i):
                        times[cl.name].append(cl.ask(command(cl))["ms"])
                for cl in clients:
                    record(figure, cl, statistics.quantiles(times[cl.name], n=4, method="inclusive")[0])

        log(f"get-specific: {a.rounds} rounds x {a.get_ops} calls each, interleaved call by call")
        per_call("get", a.get_ops, lambda cl: f"get 1 {EMPTY_PROBE_PORT}")
        assert_empty("adddel")
        log(f"add+delete: {a.rounds} rounds x {a.adddel_pairs} pairs each, interleaved pair by pair")
        per_call("adddel", a.adddel_pairs, lambda cl: f"adddel 1 {ports[cl.name]}")

        assert_empty("list")
        log(f"listing: filling the router with {FILL_COUNT} mappings")
        fill = checker.ask(f"fill {FILL_BASE} {FILL_COUNT}")
        results["fill_ms"] = fill["ms"]
        try:
            log(f"listing {FILL_COUNT} in bulk: {a.bulk_rounds} rounds")
            for r in range(a.bulk_rounds):
                for cl in rotated([cl for cl in clients if cl.bulk and cl.listing], r):
                    ans = cl.ask("list bulk")
                    assert ans["count"] == FILL_COUNT, ans
                    record("list_bulk", cl, ans["ms"])
            log(f"listing {FILL_COUNT} entry by entry: {a.generic_rounds} round(s) (about 30 s each)")
            for r in range(a.generic_rounds):
                for cl in rotated([cl for cl in clients if cl.listing], r):
                    ans = cl.ask("list generic")
                    assert ans["count"] == FILL_COUNT, ans
                    record("list_generic", cl, ans["ms"])
        finally:
            checker.ask(f"clear {FILL_BASE} {FILL_COUNT}")
        assert_empty("end")
    finally:
        for cl in clients + [checker]:
            cl.stop()

    summary = {fig: {name: stats(vals) for name, vals in per.items()} for fig, per in results.items() if fig != "fill_ms"}
    meta = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "load": os.getloadavg(),
        "rounds": a.rounds, "get_ops": a.get_ops, "adddel_pairs": a.adddel_pairs,
        "bulk_rounds": a.bulk_rounds, "generic_rounds": a.generic_rounds,
        "fill_ms": results.get("fill_ms"), "total_s": time.monotonic() - t_all,
    }
    print_table(summary, meta, [cl.name for cl in start_clients])
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "figures": summary}, f, indent=1)


AOT = "async layer, NativeAOT"
R2R = "async layer, ReadyToRun"

FIGURES = [
    ("cold", "cold start → mapped (no cache)", "ms"),
    ("warm", "warm start → mapped (remembered URL)", "ms"),
    ("get", "get-specific (absent mapping, empty router; lower-quartile call)", "ms/op"),
    ("adddel", "add + delete (lower-quartile pair)", "ms/pair"),
    ("list_bulk", f"list {FILL_COUNT} mappings, bulk (GetListOfPortMappings)", "ms"),
    ("list_generic", f"list {FILL_COUNT} mappings, entry by entry", "ms"),
]


def cell(s, base):
    if s is None:
        return "—"
    text = f"{s['median']:.1f} ({s['min']:.1f}–{s['max']:.1f})"
    if base is not None:
        text += f" ×{s['median'] / base['median']:.2f}"
    return text


def print_table(summary, meta, names):
    print()
    print(f"MiniUpnp.Net benchmark, {meta['date']}, {meta['machine']}, load {meta['load'][0]:.1f}; "
          f"{meta['rounds']} rounds (listing: {meta['bulk_rounds']} bulk, {meta['generic_rounds']} entry-by-entry); "
          f"median (min–max) ×ratio to the C loop; total {meta['total_s']:.0f} s")
    print()
    print("| figure | unit | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for key, title, unit in FIGURES:
        per = summary.get(key, {})
        base = per.get("C loop")
        print(f"| {title} | {unit} | " + " | ".join(cell(per.get(n), base) for n in names) + " |")
    bulk, generic = summary.get("list_bulk", {}), summary.get("list_generic", {})
    speedups = []
    for n in names:
        if n in bulk and n in generic:
            speedups.append(f"{n}: ×{generic[n]['median'] / bulk[n]['median']:.0f}")
    print()
    print("bulk listing vs entry by entry: " + ", ".join(speedups))
    # The targets, printed (never asserted).
    for asy in ("async layer", R2R, AOT):
        if asy not in summary.get("cold", {}):
            continue
        checks = [f"cold start ≤ 150 ms: {summary['cold'][asy]['median']:.0f} ms"]
        if asy in summary.get("warm", {}):
            checks.append(f"warm start ≤ 60 ms: {summary['warm'][asy]['median']:.0f} ms")
        for key in ("get", "adddel"):
            per = summary.get(key, {})
            if asy in per and "C loop" in per:
                checks.append(f"{key} within 5 % of the C loop: {100 * (per[asy]['median'] / per['C loop']['median'] - 1):+.1f} %")
        if asy in bulk and asy in generic:
            checks.append(f"bulk listing ≥ 20× the generic loop: ×{generic[asy]['median'] / bulk[asy]['median']:.0f}")
        print(f"targets ({asy}): " + "; ".join(checks))
    print(f"(filling the router with {FILL_COUNT} mappings took {meta['fill_ms'] / 1000:.1f} s)" if meta.get("fill_ms") else "")


if __name__ == "__main__":
    main()
