"""Invoicing's durable jobs (billing runs): the shared job table shape in the invoicing schema.

The finished runs stay recorded in ``billing_runs`` (one row per run, the job's id): the
job table says how a run went, ``billing_runs`` what it billed.
"""

from __future__ import annotations

from services.invoicing.models import Base
from shared.jobs import job_table

jobs = job_table(Base.metadata)
