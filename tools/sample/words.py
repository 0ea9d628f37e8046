"""Word lists for plausible company names, per country and language (data: ``words.toml``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

__all__ = [
    "ADJECTIVES",
    "AND_WORDS",
    "BRAND_HEADS",
    "BRAND_TAILS",
    "COUNTRIES",
    "EXTRA_WORDS",
    "FAMOUS",
    "INDUSTRIES",
    "KEYBOARD_NEIGHBOURS",
    "MSP_TAILS",
    "NOISE_NAMES",
    "NOUNS",
    "PARTNER_WORDS",
    "PLACES",
    "PREFIX_TRADES",
    "SITE_WORDS",
    "SUFFIX_FAMILIES",
    "SURNAMES",
    "Country",
]


@dataclass(frozen=True, slots=True)
class Country:
    """Where a customer is: its naming habits, legal forms, tax and currency."""

    code: str
    weight: int
    lang: str
    suffixes: tuple[str, ...]
    tax_rates: tuple[str, ...]  # decimal strings, drawn uniformly
    currencies: tuple[str, ...]
    tld: str


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        raise ValueError(f"words.toml: {where} must be a list of non-empty strings")
    return tuple(value)


def _per_lang(data: dict[str, Any], key: str) -> dict[str, tuple[str, ...]]:
    return {lang: _strings(words, f"{key}.{lang}") for lang, words in data[key].items()}


def _country(entry: dict[str, Any]) -> Country:
    return Country(
        code=str(entry["code"]),
        weight=int(entry["weight"]),
        lang=str(entry["lang"]),
        suffixes=_strings(entry["suffixes"], "countries.suffixes"),
        tax_rates=_strings(entry["tax_rates"], "countries.tax_rates"),
        currencies=_strings(entry["currencies"], "countries.currencies"),
        tld=str(entry["tld"]),
    )


_DATA: dict[str, Any] = tomllib.loads(
    resources.files(__package__ or "tools.sample").joinpath("words.toml").read_text("utf-8")
)
_LISTS: dict[str, Any] = _DATA["lists"]

COUNTRIES: tuple[Country, ...] = tuple(_country(c) for c in _DATA["countries"])
SUFFIX_FAMILIES: tuple[tuple[str, ...], ...] = tuple(
    _strings(family, "legal_forms.families") for family in _DATA["legal_forms"]["families"]
)
SURNAMES = _per_lang(_DATA, "surnames")
INDUSTRIES = _per_lang(_DATA, "industries")
PREFIX_TRADES = _per_lang(_DATA, "prefix_trades")
PARTNER_WORDS = _per_lang(_DATA, "partner_words")
PLACES = _per_lang(_DATA, "places")
EXTRA_WORDS = _per_lang(_DATA, "extra_words")
AND_WORDS: dict[str, str] = {str(k): str(v) for k, v in _DATA["and_words"].items()}
KEYBOARD_NEIGHBOURS: dict[str, str] = {
    str(k): str(v) for k, v in _DATA["keyboard_neighbours"].items()
}
ADJECTIVES = _strings(_LISTS["adjectives"], "lists.adjectives")
NOUNS = _strings(_LISTS["nouns"], "lists.nouns")
BRAND_HEADS = _strings(_LISTS["brand_heads"], "lists.brand_heads")
BRAND_TAILS = _strings(_LISTS["brand_tails"], "lists.brand_tails")
FAMOUS = _strings(_LISTS["famous"], "lists.famous")
MSP_TAILS = _strings(_LISTS["msp_tails"], "lists.msp_tails")
NOISE_NAMES = _strings(_LISTS["noise_names"], "lists.noise_names")
SITE_WORDS = _strings(_LISTS["site_words"], "lists.site_words")

_LANGS = {c.lang for c in COUNTRIES}
for _table in (SURNAMES, INDUSTRIES, PREFIX_TRADES, PARTNER_WORDS, PLACES):
    if not _LANGS <= _table.keys() or "en" not in _table:
        raise ValueError("words.toml: every country language needs surnames, industries, ...")
if not _LANGS <= AND_WORDS.keys():
    raise ValueError("words.toml: every country language needs an and_words entry")
