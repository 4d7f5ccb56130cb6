"""The benchmark's Python client: miniupnpc's own Python module, 2.3.3, built from the pinned source
(artifacts/python-ref/lib, ./build.sh reference), run by Debian's /usr/bin/python3.

    pyclient.py cold PORT        UPnP() + discover() + selectigd() + addportmapping()
    pyclient.py warm URL PORT    UPnP() + selectigd(URL) + addportmapping()
    pyclient.py serve            the same stdin commands as cloop serve (no bulk listing: the module has none)

Timings start at the top of this file (before `import miniupnpc`): what a user waits for in a fresh process.
"""
import time

T_START = time.monotonic()

import json  # noqa: E402
import sys  # noqa: E402

import miniupnpc  # noqa: E402


def out(obj):
    print(json.dumps(obj), flush=True)


def ms_since(t0):
    return (time.monotonic() - t0) * 1000.0


def cold(port):
    u = miniupnpc.UPnP()  # discoverdelay 0: miniupnpc's minimum, 1000 ms
    u.discover()
    u.selectigd()
    u.addportmapping(port, "TCP", u.lanaddr, port, "bench", "", 3600)
    ms = ms_since(T_START)
    u.deleteportmapping(port, "TCP")
    out({"ms": ms})


def warm(url, port):
    u = miniupnpc.UPnP()
    u.selectigd(url)
    u.addportmapping(port, "TCP", u.lanaddr, port, "bench", "", 3600)
    ms = ms_since(T_START)
    u.deleteportmapping(port, "TCP")
    out({"ms": ms})


def serve():
    u = None
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        t0 = time.monotonic()
        cmd = words[0]
        try:
            if cmd == "open":
                u = miniupnpc.UPnP()
                u.selectigd(words[1])
                out({"ms": ms_since(t0)})
            elif cmd == "get":
                n, port = int(words[1]), int(words[2])
                for _ in range(n):
                    u.getspecificportmapping(port, "TCP")
                out({"ms": ms_since(t0), "ops": n})
            elif cmd == "adddel":
                n, port = int(words[1]), int(words[2])
                for _ in range(n):
                    u.addportmapping(port, "TCP", u.lanaddr, port, "bench", "", 3600)
                    u.deleteportmapping(port, "TCP")
                out({"ms": ms_since(t0), "ops": n})
            elif cmd == "list":
                if words[1] != "generic":
                    out({"error": "the Python module has no bulk listing"})
                    continue
                count = 0
                while count < 4096 and u.getgenericportmapping(count) is not None:
                    count += 1
                out({"ms": ms_since(t0), "count": count})
            elif cmd == "quit":
                break
            else:
                out({"error": "unknown command"})
        except Exception as e:  # noqa: BLE001 - report every failure as a line
            out({"error": f"{cmd}: {e}"})


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "cold":
        cold(int(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "warm":
        warm(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 2 and sys.argv[1] == "serve":
        serve()
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
