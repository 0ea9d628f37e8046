"""Durable jobs: long work as a row in the service's database, leased to one replica at a time.

A request (or a consumer) queues a job in its own short transaction and answers; a
:class:`JobWorker` (a :class:`~shared.drain.DrainLoop`) claims it in another short transaction
that writes ``lease_owner`` and ``lease_expires_at``, then does the work in a transaction of
its own that also marks the job done, so the work and its record commit together. While the
work runs, a heartbeat extends the lease (and records progress) every third of it.

A replica that dies stops beating; once its lease expired, the job is claimable again and
another replica takes it over (``attempts`` counts the claims; past ``max_attempts`` the job
fails instead of being tried forever). A job whose work raises fails at once with the error:
a deterministic failure is not retried. On PostgreSQL the claim takes the job row with ``FOR
UPDATE SKIP LOCKED``, so replicas never wait on each other's claims; on SQLite (one process)
the same code runs without it, and every state change is guarded by the expected state, so a
lost race changes nothing.
"""

from shared.jobs.leases import LeaseLost, Leases, Progress
from shared.jobs.table import ACTIVE, ACTIVE_WHERE, Job, JobStatus, enqueue, find, job_table, newest
from shared.jobs.worker import Handler, JobWorker, worker_id

__all__ = [
    "ACTIVE",
    "ACTIVE_WHERE",
    "Handler",
    "Job",
    "JobStatus",
    "JobWorker",
    "LeaseLost",
    "Leases",
    "Progress",
    "enqueue",
    "find",
    "job_table",
    "newest",
    "worker_id",
]
