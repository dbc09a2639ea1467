#!/usr/bin/python3
"""Delays every packet that goes through a TUN device by a fixed time, in order.

    tun-delay.py IFNAME DELAY_MS [LABEL]

Creates the TUN device IFNAME (IFF_TUN, no packet information header) in the current network
namespace, prints "ready" once it exists, then reads each packet the kernel routes into it,
holds it DELAY_MS milliseconds and writes it back, where the kernel forwards it like a packet
that arrived on IFNAME. LABEL is not used: it names the lab host in `ps` and `pgrep -f`.

The kernel has no sch_netem here, hence this. With one fixed delay, packets are due in the
order they arrived, so a FIFO of (due time, packet) keeps their order and needs no heap.
Exits on SIGTERM, when its parent dies (the test process; `ip netns exec` execs, it does not
fork), or if the device goes away. The device is not persistent: it vanishes with the process,
and the routes through it with it.
"""
import collections
import ctypes
import errno
import fcntl
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
PR_SET_PDEATHSIG = 1
# Queued packets beyond this are dropped, like netem's `limit` (its default is 1000). At
# 200 ms, 50,000 packets are 250,000 packets per second: far more than this process forwards.
QUEUE_LIMIT = 50_000
# Packets read per wake-up before the due ones are written again, so that a flood coming in
# cannot hold back packets already due.
READ_BATCH = 256
# How often the parent is checked for, in seconds, in case PR_SET_PDEATHSIG missed it.
PARENT_CHECK_S = 1.0


def die_with_parent():
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    # The parent may have died before prctl(): then this process was already re-parented.
    if os.getppid() != parent:
        sys.exit(0)
    return parent


def open_tun(name):
    fd = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def forward(fd, delay_s, parent):
    queue = collections.deque()
    overflowed = False
    next_parent_check = time.monotonic() + PARENT_CHECK_S
    while True:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            try:
                os.write(fd, queue.popleft()[1])
            except OSError:
                pass  # a packet the kernel refuses is lost, as on a wire; the others still go
        if now >= next_parent_check:
            if os.getppid() != parent:
                return
            next_parent_check = now + PARENT_CHECK_S
        timeout = next_parent_check - now
        if queue:
            timeout = min(timeout, max(0.0, queue[0][0] - now))
        readable, _, _ = select.select([fd], [], [], timeout)
        if not readable:
            continue
        arrived = time.monotonic()
        for _ in range(READ_BATCH):
            try:
                packet = os.read(fd, 65536)
            except BlockingIOError:
                break
            except OSError as err:
                if err.errno == errno.EBADFD:  # the device was deleted (namespace gone)
                    return
                raise
            if len(queue) < QUEUE_LIMIT:
                queue.append((arrived + delay_s, packet))
            elif not overflowed:
                overflowed = True
                sys.stderr.write(f'queue full ({QUEUE_LIMIT} packets): dropping\n')


def main():
    if len(sys.argv) not in (3, 4):
        sys.stderr.write(__doc__)
        sys.exit(2)
    name, delay_ms = sys.argv[1], float(sys.argv[2])
    if not 0 <= delay_ms <= 60_000:
        sys.exit('DELAY_MS must be between 0 and 60000')
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    parent = die_with_parent()
    fd = open_tun(name)
    sys.stdout.write('ready\n')
    sys.stdout.flush()
    forward(fd, delay_ms / 1000, parent)


if __name__ == '__main__':
    main()
