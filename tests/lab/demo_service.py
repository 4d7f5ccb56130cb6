#!/usr/bin/python3
"""The demo's service (./build.sh demo): listens on PORT and answers every connection with one line.

Usage: demo_service.py PORT      (run in the lab's lan namespace; ends after 20 connections or 120 s without one)
Standard library only.
"""

import socket
import sys


def main() -> int:
    port = int(sys.argv[1])
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen()
    s.settimeout(120)
    for _ in range(20):
        try:
            c, _ = s.accept()
        except OSError:
            break
        c.sendall(b"hello from the service on the LAN host\n")
        c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
