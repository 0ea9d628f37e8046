from services.mapping.api.companies import router as companies
from services.mapping.api.module_orgs import router as module_orgs
from services.mapping.api.service_mappings import router as service_mappings

routers = [companies, module_orgs, service_mappings]
