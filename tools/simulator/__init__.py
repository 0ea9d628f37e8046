"""The module simulator: every catalog module's usage API, for development and tests.

Vendor APIs cannot be reached from here, so this HTTP server stands in for all of them, with
one paged JSON API per module, serving the daily counts of a generated sample MSP
(``tools.sample``: growth, churn, onboarding, weekend dips, renames):

``GET /{module}/v1/usage?date=YYYY-MM-DD&page=N`` with ``Authorization: Bearer <token>``::

    {"module": "datto_rmm", "date": "2026-10-04", "page": 1, "pages": 3, "page_size": 500,
     "total": 1234, "next_page": 2,
     "items": [{"org_id": "...", "org_name": "...", "metric": "servers",
                "date": "2026-10-04", "quantity": "12"}]}

401 without the token, 404 for an unknown module, 422 for a bad date or page, and 500 on the
failing days configured (``--fail MODULE:DATE``, ``*`` for every module) or set at run time
through ``PUT/DELETE /_control/failures/{module}/{date}`` (same token). A connection's
``base_url`` for a module is ``http://HOST:PORT/{module}/v1``.

Run it with ``icb simulate --port P --seed S --companies N``.
"""

from tools.simulator.app import create_app
from tools.simulator.state import Failure, SimulatorState

__all__ = ["Failure", "SimulatorState", "create_app"]
