"""Every table of invoicing in one metadata: the core tables of ``models`` and those the
subdomains declare beside their code (jobs, revenue assurance, accounting, webhooks). What needs
the whole schema (the app, migrations, tests of drift) imports this module."""

from __future__ import annotations

from services.invoicing import models
from services.invoicing.accounting import models as accounting
from services.invoicing.assurance import models as assurance
from services.invoicing.runs import models as runs
from services.invoicing.webhooks import models as webhooks

SCHEMA = models.SCHEMA
metadata = models.Base.metadata
SUBDOMAIN_TABLES = (accounting, assurance, runs, webhooks)
"""the modules whose tables join ``metadata`` by being imported"""
