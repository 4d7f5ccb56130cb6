"""The benchmark's Python NAT-PMP client: libnatpmp's own Python module, 20230423, built from the pinned source with a
Python 3 module init (artifacts/python-ref-natpmp/lib, tests/lab/natpmp-py3.sh), run by Debian's /usr/bin/python3.

    pynatpmp.py cold PORT        NATPMP() + addportmapping(PORT, "UDP", PORT, 3600)

NATPMP() opens its socket to the default gateway (initnatpmp(&n, 0, 0)): in the lab's lan namespace, the router.
The clock starts at the top of this file (before `import libnatpmp`): what a user waits for in a fresh process.
"""
import time

T_START = time.monotonic()

import json  # noqa: E402
import sys  # noqa: E402

import libnatpmp  # noqa: E402


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "cold":
        sys.stderr.write(__doc__)
        sys.exit(2)
    port = int(sys.argv[2])
    n = libnatpmp.NATPMP()
    try:
        mapped = n.addportmapping(port, "UDP", port, 3600)
    except Exception as e:  # noqa: BLE001 - report every failure as a line
        print(json.dumps({"error": f"addportmapping: {e}"}), flush=True)
        sys.exit(1)
    ms = (time.monotonic() - T_START) * 1000.0
    n.deleteportmapping(port, "UDP", port)
    if mapped != port:
        print(json.dumps({"error": f"mapped {mapped}, not {port}"}), flush=True)
        sys.exit(1)
    print(json.dumps({"ms": ms}), flush=True)


if __name__ == "__main__":
    main()
