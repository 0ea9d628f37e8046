from services.invoicing.models import SCHEMA, Base
from services.invoicing.runs import models as _jobs  # noqa: F401  (the job table, on Base)
from shared.migrations import run_env

run_env(Base.metadata, SCHEMA)
