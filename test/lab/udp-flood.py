#!/usr/bin/python3
"""Floods HOST:PORT with small UDP datagrams that are no probe, as fast as one core sends them.

    udp-flood.py HOST PORT

Prints "flooding" once it sends, then "sent N" every 100 ms, until killed (or its parent, the
test process, dies). Errors of single sends (ENOBUFS, ICMP port unreachable reported back)
are ignored: the flood goes on whether or not a listener is there yet.
"""
import ctypes
import os
import signal
import socket
import sys
import time

PR_SET_PDEATHSIG = 1


def main():
    if len(sys.argv) != 3:
        sys.stderr.write('usage: udp-flood.py HOST PORT\n')
        sys.exit(2)
    host, port = sys.argv[1], int(sys.argv[2])
    # Die with the test process, whatever happens to it.
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    payload = b'not a probe, a flood\n'
    target = (host, port)
    sent = 0
    print('flooding', flush=True)
    next_report = time.monotonic() + 0.1
    while True:
        for _ in range(1000):
            try:
                sock.sendto(payload, target)
                sent += 1
            except OSError:
                pass
        now = time.monotonic()
        if now >= next_report:
            print(f'sent {sent}', flush=True)
            next_report = now + 0.1


if __name__ == '__main__':
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        os._exit(0)
