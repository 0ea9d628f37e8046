from services.invoicing.api.accounting import router as accounting
from services.invoicing.api.billing_runs import router as billing_runs
from services.invoicing.api.contracts import router as contracts
from services.invoicing.api.exports import router as exports
from services.invoicing.api.holds import router as holds
from services.invoicing.api.insights import router as insights
from services.invoicing.api.invoices import router as invoices
from services.invoicing.api.payments import router as payments
from services.invoicing.api.receivables import router as receivables
from services.invoicing.api.reconciliation import router as reconciliation
from services.invoicing.api.seller_profile import router as seller_profile
from services.invoicing.api.tenant_settings import router as tenant_settings
from services.invoicing.api.usage import router as usage
from services.invoicing.api.vendor_bills import router as vendor_bills
from services.invoicing.api.webhooks import router as webhooks

routers = [
    contracts,
    billing_runs,
    invoices,
    holds,
    payments,
    receivables,
    exports,
    seller_profile,
    tenant_settings,
    usage,
    vendor_bills,
    reconciliation,
    insights,
    webhooks,
    accounting,
]
