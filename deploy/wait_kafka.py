"""Wait until a Kafka broker answers a metadata request.

    python deploy/wait_kafka.py [--bootstrap 127.0.0.1:9092] [--timeout 120]
                                [--log FILE] [--pid PID] [--quiet]

Exit 0 once the broker returns cluster metadata listing at least one broker; exit 1 on timeout,
or as soon as --pid is gone (the broker died), printing the tail of --log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time
from collections import deque
from pathlib import Path

from aiokafka.client import AIOKafkaClient


async def probe(bootstrap: str, timeout_s: float) -> int:
    """Broker count from one metadata request; raises if the broker does not answer."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000))
    try:
        await asyncio.wait_for(client.bootstrap(), timeout_s)
        brokers = len(client.cluster.brokers())
    finally:
        with contextlib.suppress(Exception):
            await client.close()
    if not brokers:
        raise RuntimeError("metadata lists no broker yet")
    return brokers


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (exited, not yet reaped) is not alive either
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    return True


def tail(path: str | None, lines: int = 40) -> str:
    if not path or not Path(path).exists():
        return ""
    with open(path, errors="replace") as f:
        return "".join(deque(f, maxlen=lines))


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap", default="127.0.0.1:9092")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds")
    ap.add_argument("--log", help="broker log to show on failure")
    ap.add_argument("--pid", type=int, help="give up early if this process exits")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    # aiokafka logs every refused connection at ERROR; the retries are expected here
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

    deadline = time.monotonic() + args.timeout
    last: BaseException | None = None
    while True:
        try:
            brokers = await probe(args.bootstrap, max(1.0, min(10.0, deadline - time.monotonic())))
        except Exception as err:  # connection refused, timeout, not ready yet
            last = err
        else:
            if not args.quiet:
                print(f"kafka: {args.bootstrap} answers ({brokers} broker(s))")
            return 0
        if args.pid and not alive(args.pid):
            reason = f"broker process {args.pid} exited"
            break
        if time.monotonic() >= deadline:
            reason = f"no answer within {args.timeout:g}s (last error: {last!r})"
            break
        await asyncio.sleep(0.5)

    if not args.quiet:
        print(f"kafka: {args.bootstrap} not ready: {reason}", file=sys.stderr)
        log = tail(args.log)
        if log:
            print(f"--- last lines of {args.log} ---\n{log}", file=sys.stderr, end="")
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
