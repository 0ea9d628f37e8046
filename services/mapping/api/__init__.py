from services.mapping.api.audit import router as audit
from services.mapping.api.auto_map import router as auto_map
from services.mapping.api.companies import router as companies
from services.mapping.api.company_import import router as company_import
from services.mapping.api.insights import router as insights
from services.mapping.api.module_orgs import router as module_orgs
from services.mapping.api.service_mappings import router as service_mappings

routers = [company_import, companies, auto_map, module_orgs, service_mappings, insights, audit]
