"""What every invoicing endpoint depends on: the signed caller, paging, the invoicing runtime."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends

from services.invoicing.documents.numbering import issue_date
from services.invoicing.documents.parties import SellerDefaults
from services.invoicing.runtime import InvoicingRuntime
from shared.clock import utc_now
from shared.deps import Caller, Paging, runtime_dependency

__all__ = ["Caller", "Defaults", "Paging", "Runtime", "Today"]
Runtime = Annotated[InvoicingRuntime, Depends(runtime_dependency(InvoicingRuntime))]


def seller_defaults(runtime: Runtime) -> SellerDefaults:
    return SellerDefaults(runtime.settings.seller_name, runtime.settings.payment_terms_days)


Defaults = Annotated[SellerDefaults, Depends(seller_defaults)]


def tenant_today(ctx: Caller) -> date:
    """Today in the tenant's time zone: what ``overdue`` and the date checks measure by."""
    return issue_date(utc_now(), ctx.timezone)


Today = Annotated[date, Depends(tenant_today)]
