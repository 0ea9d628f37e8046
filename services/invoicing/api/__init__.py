from services.invoicing.api.contracts import router as contracts
from services.invoicing.api.invoices import router as invoices
from services.invoicing.api.usage import router as usage

routers = [contracts, invoices, usage]
