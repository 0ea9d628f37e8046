"""Mapping's options: so far only those every service shares."""

from __future__ import annotations

from shared.settings import ServiceSettings


class MappingSettings(ServiceSettings):
    pass
