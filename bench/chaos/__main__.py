"""``python -m bench.chaos`` (``make chaos``): the chaos run at ``CHAOS_RECORDS`` records
(default 1,000,000); exits 1 when anything was lost, doubled or different, or leaked."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path

from bench.chaos.infra import REPO, Infra
from bench.chaos.run import chaos_run


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos")
    parser.add_argument(
        "--records", type=int, default=int(os.environ.get("CHAOS_RECORDS", "1000000"))
    )
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CHAOS_SEED", "18")))
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="how often each fault recurs (default: once per 250,000 records)",
    )
    parser.add_argument("--posts", type=int, default=None, help="drafts to post (default: all)")
    parser.add_argument("--run-dir", type=Path, default=REPO / ".run" / "chaos")
    args = parser.parse_args()
    # The harness's own idle pool on the database the run restarts: its reconnects are noise.
    logging.getLogger("asyncpg.pool").setLevel(logging.CRITICAL)
    rounds = args.rounds or max(1, args.records // 250_000)
    infra = Infra(args.run_dir)
    workdir = args.run_dir / "stack" / time.strftime("%Y%m%dT%H%M%S")
    workdir.mkdir(parents=True)
    began = time.monotonic()
    try:
        report = asyncio.run(chaos_run(args.records, args.seed, rounds, workdir, infra, args.posts))
    finally:
        asyncio.run(infra.down())
    lines = [*report.lines(), f"wall time {time.monotonic() - began:.0f}s; logs in {workdir}"]
    print("\n".join(lines))
    (workdir / "report.txt").write_text("\n".join(lines) + "\n")
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(main())
