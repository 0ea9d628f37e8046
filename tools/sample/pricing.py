"""The sample MSP's tenant-wide service plan: every catalog metric feeds one priced service."""

from __future__ import annotations

from decimal import Decimal

from tools.sample.model import CountingBasis, Pricing, SampleService, SampleTier

__all__ = ["PRICE_LIST", "service_mappings"]


def _tiers(*pairs: tuple[str | None, str]) -> tuple[SampleTier, ...]:
    return tuple(
        SampleTier(None if up_to is None else Decimal(up_to), Decimal(price))
        for up_to, price in pairs
    )


def _svc(
    code: str,
    name: str,
    unit: str,
    price: str,
    *sources: tuple[str, str],
    pricing: Pricing = "per_unit",
    basis: CountingBasis = "daily",
    tiers: tuple[SampleTier, ...] = (),
    minimum: str = "0",
) -> SampleService:
    return SampleService(
        service_code=code,
        name=name,
        unit=unit,
        unit_price=Decimal(price),
        sources=tuple(sources),
        pricing=pricing,
        counting_basis=basis,
        tiers=tiers,
        minimum_units=Decimal(minimum),
    )


PRICE_LIST: tuple[SampleService, ...] = (
    _svc(
        "RMM-DESKTOP",
        "Managed workstation (Datto RMM)",
        "device",
        "3.50",
        ("datto_rmm", "desktops_laptops"),
    ),
    _svc("RMM-SERVER", "Managed server (Datto RMM)", "device", "12.00", ("datto_rmm", "servers")),
    _svc(
        "RMM-NETWORK",
        "Monitored network device (Datto RMM)",
        "device",
        "2.00",
        ("datto_rmm", "network_devices"),
    ),
    # Desktops, servers and network devices are billed above; the total is shown at no charge
    # so that the metric is mapped and visible on the invoice without double billing.
    _svc(
        "RMM-DEVICE-TOTAL",
        "Managed devices, total (included)",
        "device",
        "0.00",
        ("datto_rmm", "total_devices"),
        basis="monthly_peak",
    ),
    _svc(
        "VSA-DEVICE",
        "Managed endpoint (VSA 10)",
        "device",
        "3.00",
        ("vsa_10", "devices"),
        pricing="graduated",
        tiers=_tiers(("50", "3.00"), ("250", "2.50"), (None, "2.00")),
    ),
    _svc(
        "BPID-USER",
        "Security awareness training user (BullPhish ID)",
        "user",
        "2.25",
        ("bullphish_id", "users"),
        basis="monthly_peak",
    ),
    _svc(
        "CM-DEVICE",
        "Compliance-assessed device (Compliance Manager)",
        "device",
        "1.10",
        ("compliance_manager", "devices"),
        basis="monthly_last",
    ),
    _svc(
        "ASSESS-SITE",
        "IT risk assessment site (Cyber Hawk, Network Detective Pro)",
        "site",
        "45.00",
        ("cyber_hawk", "sites"),
        ("network_detective_pro", "sites"),
        basis="monthly_peak",
    ),
    _svc(
        "DWID-DOMAIN",
        "Dark web monitored domain (Dark Web ID)",
        "domain",
        "15.00",
        ("dark_web_id", "domains"),
        minimum="1",
    ),
    _svc(
        "DWID-SEARCH",
        "Dark web live search (Dark Web ID)",
        "search",
        "5.00",
        ("dark_web_id", "live_searches"),
    ),
    _svc(
        "AZB-VM",
        "Azure protected VM (Datto Backup for Microsoft Azure)",
        "vm",
        "18.00",
        ("datto_azure_backup", "protected_vms"),
    ),
    _svc(
        "AZB-STORAGE-TB",
        "Azure backup storage per TB (Datto Backup for Microsoft Azure)",
        "tb",
        "40.00",
        ("datto_azure_backup", "storage_tb"),
        pricing="graduated",
        tiers=_tiers(("1", "40.00"), ("10", "30.00"), (None, "22.00")),
    ),
    _svc(
        "BCDR-AGENT",
        "Protected agent (Datto BCDR)",
        "agent",
        "25.00",
        ("datto_bcdr", "protected_agents"),
    ),
    _svc(
        "BCDR-APPLIANCE",
        "Backup appliance (Datto BCDR)",
        "appliance",
        "99.00",
        ("datto_bcdr", "appliances"),
        basis="monthly_peak",
    ),
    _svc(
        "EDR-ENDPOINT",
        "Endpoint detection and response (Datto EDR)",
        "device",
        "4.00",
        ("datto_edr", "endpoints"),
        pricing="volume",
        tiers=_tiers(("25", "4.00"), ("100", "3.50"), (None, "3.00")),
    ),
    _svc(
        "EBPC-DEVICE",
        "Endpoint backup, PC (Datto Endpoint Backup)",
        "device",
        "6.00",
        ("datto_endpoint_backup_pc", "pcs"),
    ),
    _svc(
        "EBSRV-DEVICE",
        "Endpoint backup, server (Datto Endpoint Backup)",
        "device",
        "30.00",
        ("datto_endpoint_backup_server", "servers"),
    ),
    _svc(
        "DFP-USER",
        "File protection user (Datto File Protection)",
        "user",
        "3.00",
        ("datto_file_protection", "users"),
    ),
    _svc(
        "DNET-DEVICE",
        "Managed network device (Datto Networking)",
        "device",
        "7.50",
        ("datto_networking", "devices"),
        basis="monthly_last",
    ),
    _svc(
        "SAASD-USER",
        "SaaS Defense user (Datto SaaS Defense)",
        "user",
        "2.00",
        ("datto_saas_defense", "users"),
    ),
    _svc(
        "GRAPHUS-MAILBOX",
        "Email security mailbox (Graphus)",
        "mailbox",
        "1.75",
        ("graphus", "mailboxes"),
    ),
    _svc("PASSLY-USER", "Identity and access user (Passly)", "user", "2.50", ("passly", "users")),
    _svc(
        "ROCKET-DEVICE",
        "Managed SOC device (RocketCyber)",
        "device",
        "4.50",
        ("rocketcyber", "devices"),
    ),
    _svc(
        "SAASP-SEAT",
        "Microsoft 365 backup seat (SaaS Protection)",
        "seat",
        "3.25",
        ("saas_protection", "seats"),
    ),
    _svc(
        "TRAVERSE-DEVICE",
        "Monitored infrastructure device (Traverse)",
        "device",
        "1.25",
        ("traverse", "devices"),
    ),
    _svc("UNIVIEW-DEVICE", "Monitored device (Uniview)", "device", "1.00", ("uniview", "devices")),
    _svc(
        "VULSCAN-IP",
        "Vulnerability-scanned IP address (VulScan)",
        "ip_address",
        "0.50",
        ("vulscan", "ip_addresses"),
        pricing="volume",
        basis="monthly_peak",
        tiers=_tiers(("256", "0.50"), ("1024", "0.40"), (None, "0.30")),
    ),
    _svc("WORKPLACE-USER", "Workplace user", "user", "5.00", ("workplace", "users")),
    # Many-to-one: both Spanning products are sold as one cloud backup service.
    _svc(
        "SPANNING-USER",
        "Cloud backup user (Spanning O365, Spanning Google)",
        "user",
        "3.00",
        ("spanning_o365", "users"),
        ("spanning_google", "users"),
    ),
)


def service_mappings(
    services: tuple[SampleService, ...] = PRICE_LIST,
) -> dict[tuple[str, str], tuple[str, ...]]:
    """``(module, metric) -> service codes``: the tenant-wide service mappings of a plan."""
    mappings: dict[tuple[str, str], tuple[str, ...]] = {}
    for service in services:
        for source in service.sources:
            mappings[source] = (*mappings.get(source, ()), service.service_code)
    return mappings
