#!/usr/bin/python3
"""Connects to HOST:PORT and prints the first line the service sends (./build.sh demo, from the wan namespace).

Usage: connect.py HOST PORT      exit 0 when something answered, 1 when nothing did (2 s timeout)
Standard library only.
"""

import socket
import sys


def main() -> int:
    try:
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)
        s.settimeout(2)
        print("    received:", s.recv(100).decode().strip())
    except OSError as e:
        print("    no connection:", e.__class__.__name__)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
