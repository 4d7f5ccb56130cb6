"""Runs the benchmark's clients round by round against the IGD lab and prints one table.

Run by bench/run.sh, inside the lab's lan namespace, with Debian's /usr/bin/python3 (standard library only).
Clients: the C loop (bench/cloop.c over our libminiupnpc), miniupnpc's Python module built from the pinned
source, the Python-shaped UPnP port and the async layer (bench/MiniUpnp.Net.Bench). Every figure starts from an
empty router; each client removes what it adds; clients are interleaved round by round (their order rotating)
so that the router's drift hits all alike. Medians over the rounds, with min and max, and ratios to the C loop.

NAT-PMP and PCP (a second table): natpmpc, a C loop over libnatpmp and a C PCP MAP (bench/cloop_pmp.c), libnatpmp's
Python module (bench/pynatpmp.py), and the .NET NATPMP port, NatpmpClient, PcpClient and PortMapper (the race), each
on the JIT and NativeAOT, run in the same cold-start rounds as the UPnP clients; the router is checked empty at the
start of every round. Per-call figures: NAT-PMP and PCP map + delete pairs, the C loop against the .NET layer.
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
PMP_PORT_BASE = 45200       # the same for the NAT-PMP and PCP clients (UDP)
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

    def __init__(self, name, argv, env=None, bulk=True, serve=True, listing=True, cold_args=None, serve_args=("serve",)):
        self.name, self.argv, self.env, self.bulk, self.can_serve = name, argv, env, bulk, serve
        self.listing = listing  # takes part in the listing figures (the AOT client does not: same code as the JIT one)
        self.cold_args = cold_args or (lambda port: ["cold", port])
        self.serve_args = list(serve_args)
        self.proc = None

    def cold(self, port):
        return self.once(*self.cold_args(port))

    def _env(self):
        env = dict(os.environ)
        env.update(self.env or {})
        return env

    def once(self, *args, timeout=60):
        out = subprocess.run(self.argv + [str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                             env=self._env())
        return parse(out.stdout, f"{self.name} {' '.join(map(str, args))}: {out.stderr.strip()[-300:]}")

    def start(self):
        self.proc = subprocess.Popen(self.argv + self.serve_args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
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


class ProcessClient(Client):
    """A tool timed from outside, from spawn to exit (natpmpc prints no timing of its own): the clock starts before
    the fork, so it includes what Python's subprocess adds (about 1 ms), and stops when the process has exited."""

    def __init__(self, name, argv, cold_args, ok, cleanup):
        super().__init__(name, argv, serve=False, listing=False, cold_args=cold_args)
        self.ok, self.cleanup = ok, cleanup

    def cold(self, port):
        args = [str(a) for a in self.cold_args(port)]
        t0 = time.monotonic()
        out = subprocess.run(self.argv + args, capture_output=True, text=True, timeout=60, env=self._env())
        ms = (time.monotonic() - t0) * 1000.0
        self.cleanup(port)
        if out.returncode != 0 or not self.ok(out.stdout):
            raise RuntimeError(f"{self.name} {' '.join(args)}: exit {out.returncode}: {(out.stdout + out.stderr).strip()[-300:]}")
        return {"ms": ms}


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
    ap.add_argument("--cloop-pmp", help="bench/cloop_pmp.c built (the NAT-PMP and PCP section needs it)")
    ap.add_argument("--natpmpc", help="natpmpc built from the pinned source (run.sh: the lab's copy)")
    ap.add_argument("--python-ref-natpmp", help="directory of the reference libnatpmp module")
    ap.add_argument("--sections", default=os.environ.get("BENCH_SECTIONS", "all"), choices=["all", "start", "pmp"],
                    help="all; start: cold starts of every client and the NAT-PMP/PCP per-call figures; "
                         "pmp: the NAT-PMP/PCP clients and the UPnP async layer only")
    ap.add_argument("--pmp-pairs", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "7")))
    ap.add_argument("--get-ops", type=int, default=60)
    ap.add_argument("--adddel-pairs", type=int, default=24)
    ap.add_argument("--bulk-rounds", type=int, default=int(os.environ.get("BENCH_BULK_ROUNDS", "5")))
    ap.add_argument("--generic-rounds", type=int, default=int(os.environ.get("BENCH_GENERIC_ROUNDS", "1")))
    ap.add_argument("--json", help="write the raw results here")
    a = ap.parse_args()
    if a.get_ops < 4 or a.adddel_pairs < 4 or a.pmp_pairs < 4:
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
    gw = lab["IGD_LAN_ADDR"]
    pmp = bool(a.cloop_pmp)
    pmp_cold, pmp_serve = [], []
    if pmp:
        pmp_checker = Client("NAT-PMP cleaner", [a.cloop_pmp], serve_args=["serve", gw])
        cpmp = Client(C_NATPMP, [a.cloop_pmp], cold_args=lambda port: ["natpmp-cold", gw, port], serve_args=["serve", gw])
        cpcp = Client(C_PCP, [a.cloop_pmp], cold_args=lambda port: ["pcp-cold", gw, port], serve=False)
        pmp_cold = [cpmp, cpcp]
        if a.natpmpc:
            pmp_cold.append(ProcessClient(NATPMPC, [a.natpmpc],
                                          cold_args=lambda port: ["-g", gw, "-a", port, port, "udp", 3600],
                                          ok=lambda out: "Mapped public port" in out,
                                          cleanup=lambda port: pmp_checker.ask(f"natpmp-del {port}")))
        if a.python_ref_natpmp:
            pmp_cold.append(Client(PY_NATPMP, ["/usr/bin/python3", os.path.join(here, "pynatpmp.py")],
                                   {"PYTHONPATH": a.python_ref_natpmp}, serve=False))
        builds = [("", a.dotnet_client)] + ([(", NativeAOT", a.dotnet_aot_client)] if a.dotnet_aot_client else [])
        for suffix, exe in builds:
            for mode, label in PMP_DOTNET:
                pmp_cold.append(Client(label + suffix, [exe, mode], serve=False,
                                       cold_args=lambda port: ["cold", port, gw]))
            pmp_serve.append(Client(DOTNET_PMP + suffix, [exe, "pmp"], serve_args=["serve", gw]))
        pmp_serve.insert(0, Client(C_PMP_SERVE, [a.cloop_pmp], serve_args=["serve", gw]))
    if a.sections == "pmp":
        start_clients = [cl for cl in start_clients if cl.name in ("async layer", AOT)]
    ports = {cl.name: PORT_BASE + i for i, cl in enumerate(start_clients)}
    ports.update({cl.name: PMP_PORT_BASE + i for i, cl in enumerate(pmp_cold + pmp_serve)})
    results = {}
    t_all = time.monotonic()

    def record(figure, client, value):
        results.setdefault(figure, {}).setdefault(client.name, []).append(value)

    # The C client's serve process doubles as the checker of the router's state.
    checker = Client("checker", [a.cloop])
    checker.start()
    checker.ask(f"open {url}")
    if pmp:
        pmp_checker.start()

    def assert_empty(figure):
        n = checker.ask("list bulk")["count"]
        if n:
            raise RuntimeError(f"{figure}: the router holds {n} mappings before the figure (it must start empty)")

    try:
        # UPnP, NAT-PMP and PCP clients in the same rounds, in one rotating order; the router is empty at every
        # round's start (NAT-PMP and PCP mappings are in miniupnpd's one list, which the UPnP listing reads).
        log(f"cold start -> mapped: {a.rounds} rounds, fresh processes, {len(start_clients) + len(pmp_cold)} clients")
        for r in range(a.rounds):
            assert_empty(f"cold, round {r + 1}")
            for cl in rotated(start_clients + pmp_cold, r):
                ans = cl.cold(ports[cl.name])
                record("cold" if cl in start_clients else "pmp_cold", cl, ans["ms"])
                if "method" in ans:
                    results.setdefault("pmp_method", {}).setdefault(cl.name, []).append(ans["method"])
                    record("pmp_race", cl, ans["race_ms"])
                    record("pmp_discovered", cl, ans["discovered_ms"])
        assert_empty("after the cold starts")
        if pmp:
            for cl in pmp_serve:
                cl.start()
            for proto in ("natpmp", "pcp"):
                log(f"{proto} map+delete: {a.rounds} rounds x {a.pmp_pairs} pairs each, interleaved pair by pair")
                for r in range(a.rounds):
                    assert_empty(f"{proto} map+delete, round {r + 1}")
                    times = {cl.name: [] for cl in pmp_serve}
                    for i in range(a.pmp_pairs):
                        for cl in rotated(pmp_serve, r + i):
                            times[cl.name].append(cl.ask(f"{proto}-mapdel 1 {ports[cl.name]}")["ms"])
                    for cl in pmp_serve:
                        record(f"pmp_mapdel_{proto}", cl, statistics.quantiles(times[cl.name], n=4, method="inclusive")[0])
            assert_empty("after the NAT-PMP and PCP figures")
        if a.sections != "all":
            return finish(a, results, start_clients, pmp_cold, t_all)
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
        for cl in clients + [checker] + pmp_serve + ([pmp_checker] if pmp else []):
            cl.stop()
    finish(a, results, start_clients, pmp_cold, t_all)


def finish(a, results, start_clients, pmp_cold, t_all):
    summary = {fig: {name: stats(vals) for name, vals in per.items()} for fig, per in results.items()
               if fig not in ("fill_ms", "pmp_method")}
    meta = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "load": os.getloadavg(),
        "rounds": a.rounds, "get_ops": a.get_ops, "adddel_pairs": a.adddel_pairs,
        "bulk_rounds": a.bulk_rounds, "generic_rounds": a.generic_rounds,
        "fill_ms": results.get("fill_ms"), "total_s": time.monotonic() - t_all, "sections": a.sections,
        "pmp_pairs": a.pmp_pairs, "race_methods": results.get("pmp_method", {}),
    }
    print_table(summary, meta, [cl.name for cl in start_clients])
    if pmp_cold:
        print_pmp_table(summary, meta, [cl.name for cl in pmp_cold])
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "figures": summary}, f, indent=1)


AOT = "async layer, NativeAOT"
R2R = "async layer, ReadyToRun"
AOT_SUFFIX = ", NativeAOT"

# The NAT-PMP and PCP clients (names are the JSON's keys and the table's rows).
NATPMPC = "natpmpc"
C_NATPMP = "C loop over libnatpmp"
C_PCP = "C PCP MAP (socket)"
PY_NATPMP = "Python libnatpmp module"
PMP_DOTNET = [("natpmp-port", "NATPMP port"), ("natpmp", "NatpmpClient"), ("pcp", "PcpClient"), ("mapper", "PortMapper race")]
C_PMP_SERVE = "C loop (NAT-PMP, PCP)"
DOTNET_PMP = ".NET layer (NatpmpClient, PcpClient)"

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


def print_pmp_table(summary, meta, names):
    """Rows are clients: cold start -> mapped through NAT-PMP, PCP or the race, beside the UPnP cold starts of the same
    run; the map + delete pairs of the C loop and the .NET layer on the rows of the same protocol."""
    cold, upnp = summary.get("pmp_cold", {}), summary.get("cold", {})
    percall = {"natpmp": summary.get("pmp_mapdel_natpmp", {}), "pcp": summary.get("pmp_mapdel_pcp", {})}
    methods = meta.get("race_methods", {})

    def protocol(name):
        if name.startswith("PortMapper"):
            chosen = methods.get(name, [])
            counts = ", ".join(f"{m} {chosen.count(m)}/{len(chosen)}" for m in sorted(set(chosen)))
            return f"race: PCP, NAT-PMP, UPnP (chosen: {counts})"
        if name == NATPMPC:
            return "NAT-PMP (public address, then map)"
        return "PCP" if "PCP" in name or name.startswith("PcpClient") else "NAT-PMP"

    def serve_of(name):
        suffix = AOT_SUFFIX if name.endswith(AOT_SUFFIX) else ""
        if name == C_NATPMP:
            return C_PMP_SERVE, "natpmp"
        if name == C_PCP:
            return C_PMP_SERVE, "pcp"
        if name.startswith("NatpmpClient"):
            return DOTNET_PMP + suffix, "natpmp"
        if name.startswith("PcpClient"):
            return DOTNET_PMP + suffix, "pcp"
        return None, None

    print()
    print(f"NAT-PMP and PCP, same run: cold start → mapped (UDP, fresh process, router empty at each round's start; "
          f"{meta['rounds']} rounds) and map + delete ({meta['pmp_pairs']} pairs per round, lower-quartile pair); "
          f"median (min–max) ×ratio to the C floor of the same protocol (the race: to the C PCP MAP)")
    print()
    print("| client | protocol | cold start → mapped, ms | map + delete, ms/pair |")
    print("|---|---|---|---|")
    for n in ("C loop", "async layer", AOT):
        if n in upnp:
            label = {"C loop": "C loop over miniupnpc (upnpDiscover 1000 ms)", "async layer": "UpnpGateway (UPnP async layer)",
                     AOT: "UpnpGateway, NativeAOT"}[n]
            print(f"| {label} | UPnP IGD (SSDP, description, AddPortMapping) | {cell(upnp[n], upnp.get('C loop'))} | — |")
    for n in names:
        proto = protocol(n)
        base = cold.get(C_PCP if proto != "NAT-PMP" and not proto.startswith("NAT-PMP") else C_NATPMP)
        serve, which = serve_of(n)
        pc = percall[which].get(serve) if serve else None
        pc_base = percall[which].get(C_PMP_SERVE) if serve else None
        print(f"| {n} | {proto} | {cell(cold.get(n), base)} | {cell(pc, pc_base) if pc else '—'} |")
    print()

    def median(name):
        return cold[name]["median"] if name in cold else None

    # The targets, printed (never asserted).
    checks = []
    for n in ("PcpClient" + AOT_SUFFIX, "NatpmpClient" + AOT_SUFFIX, "NATPMP port" + AOT_SUFFIX, "PortMapper race" + AOT_SUFFIX):
        if median(n) is not None:
            checks.append(f"{n} {median(n):.1f} ms ({'met' if median(n) <= 30 else 'missed'})")
    if checks:
        print("target: NativeAOT cold start → mapped through PCP or NAT-PMP ≤ 30 ms: " + "; ".join(checks))
    for suffix in (AOT_SUFFIX, ""):
        race = median("PortMapper race" + suffix)
        if race is None:
            continue
        parts = []
        for alone in ("PcpClient", "NatpmpClient"):
            m = median(alone + suffix)
            if m is not None:
                over = 100 * (race / m - 1)
                parts.append(f"vs {alone} alone {m:.1f} ms: {over:+.1f} % ({'met' if over <= 10 else 'missed'})")
        decided = summary.get("pmp_race", {}).get("PortMapper race" + suffix)
        returned = summary.get("pmp_discovered", {}).get("PortMapper race" + suffix)
        note = (f"; DiscoverAsync returned {returned['median']:.1f} ms after the top of main (its race: "
                f"{decided['median']:.1f} ms), LeaseAsync took the rest" if decided and returned else "")
        which = "NativeAOT" if suffix else "JIT"
        print(f"target: the race costs ≤ 10 % over the fastest protocol alone ({which}): race {race:.1f} ms "
              + "; ".join(parts) + note)


if __name__ == "__main__":
    main()
