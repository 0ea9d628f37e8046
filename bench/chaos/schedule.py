"""The fault schedule: which fault, in which phase, at which point of it. The same seed gives
the same schedule, printed before the run so a failure can be replayed."""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

SERVICES = ("ingest", "mapping", "invoicing", "gateway")
CONSUMERS = ("mapping", "invoicing")
"""the services that consume events (ingest and the gateway only publish)"""
PHASES = ("ingest", "automap", "billing", "posting")


@dataclass(frozen=True)
class Fault:
    phase: str
    """``ingest`` (usage posted), ``automap`` (re-resolution after an auto-map),
    ``billing`` (a billing run), ``posting`` (drafts being posted)"""
    at: float
    """how far into the phase: the share of the usage or drafts sent (ingest, posting) or
    seconds after the phase's request was answered (automap, billing)"""
    kind: str
    """``kill`` (kill -9 and start again), ``restart`` (SIGTERM while a request is in flight,
    start again), ``pause`` (SIGSTOP longer than the consumer session, then SIGCONT),
    ``kafka`` or ``postgres`` (the broker or the database server stopped and started)"""
    target: str = ""

    def describe(self) -> str:
        what = {
            "kill": f"kill -9 {self.target}",
            "restart": f"restart {self.target} mid-request",
            "pause": f"SIGSTOP {self.target} past its session timeout",
            "kafka": "restart the Kafka broker",
            "postgres": "restart PostgreSQL",
        }[self.kind]
        where = f"{self.at:.0%}" if self.phase in ("ingest", "posting") else f"+{self.at:.1f}s"
        return f"{self.phase:<8} {where:>6}  {what}"


def _ingest_faults(rounds: int) -> list[tuple[str, str]]:
    one = [
        *(("kill", s) for s in SERVICES),
        ("kill", "ingest"),
        ("restart", "gateway"),
        ("kafka", ""),
        ("postgres", ""),
        *(("pause", s) for s in CONSUMERS),
    ]
    return one * rounds


def make_schedule(seed: int, rounds: int = 1) -> list[Fault]:
    """Every fault the issue asks for, ``rounds`` times during the ingest (in a seeded order at
    seeded moments), plus kills of mapping during re-resolution, of invoicing during the
    billing run and during posting, and of the gateway during posting."""
    rng = Random(seed)
    kinds = _ingest_faults(rounds)
    rng.shuffle(kinds)
    moments = sorted(rng.uniform(0.05, 0.9) for _ in kinds)
    faults = [
        Fault("ingest", round(at, 3), kind, target)
        for at, (kind, target) in zip(moments, kinds, strict=True)
    ]
    for _ in range(rounds):
        faults.append(Fault("automap", round(rng.uniform(0.2, 1.5), 1), "kill", "mapping"))
        faults.append(Fault("billing", round(rng.uniform(0.0, 0.5), 1), "kill", "invoicing"))
    posting = sorted(rng.uniform(0.1, 0.8) for _ in range(2 * rounds))
    targets = ["invoicing", "gateway"] * rounds
    rng.shuffle(targets)
    faults.extend(
        Fault("posting", round(at, 3), "kill", t) for at, t in zip(posting, targets, strict=True)
    )
    return faults


def describe(seed: int, faults: list[Fault]) -> str:
    lines = [f"fault schedule (seed {seed}, {len(faults)} faults):"]
    lines.extend(f"  {i:>2}. {f.describe()}" for i, f in enumerate(faults, 1))
    return "\n".join(lines)
