from services.invoicing.api.accounting import router as accounting
from services.invoicing.api.billing_runs import router as billing_runs
from services.invoicing.api.contracts import router as contracts
from services.invoicing.api.exports import router as exports
from services.invoicing.api.invoices import router as invoices
from services.invoicing.api.payments import router as payments
from services.invoicing.api.receivables import router as receivables
from services.invoicing.api.seller_profile import router as seller_profile
from services.invoicing.api.usage import router as usage
from services.invoicing.api.webhooks import router as webhooks

routers = [
    contracts,
    billing_runs,
    invoices,
    payments,
    receivables,
    exports,
    seller_profile,
    usage,
    webhooks,
    accounting,
]
