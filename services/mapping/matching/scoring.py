"""Which company a module org belongs to: ranked suggestions and unambiguous auto-mapping.

Pure: the caller loads the companies and the orgs already mapped (the evidence), this scores.
A company is known by its name and by the names of the module orgs already mapped to it, so an
org named like one mapped in another module points to the same company.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from services.mapping.matching.names import NormalName, normalise
from services.mapping.matching.shortlist import Shortlist

DEFAULT_MIN_SCORE = 0.9
# The best company must lead the runner-up by this much to be mapped without a human.
DEFAULT_MARGIN = 0.05
SUGGESTIONS = 5
SUGGESTION_FLOOR = 0.6
# An org that adds words to a company's whole name ("Contoso Ltd - Backup") scores at least
# this (times how well the words match), more the larger the share of the company's name.
EXTRA_WORDS_BASE = 0.85
MIN_WINDOW_RATIO = 85
MIN_GLUED = 5
MIN_TRUNCATED_WORDS = 3
MIN_TRUNCATED = 12


@dataclass(frozen=True, slots=True)
class Company:
    """A company as matching sees it: its name and the names of module orgs mapped to it."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Suggestion:
    company_id: str
    name: str
    score: float
    evidence: str | None = None  # the mapped org's name that matched, if not the company's


@dataclass(frozen=True, slots=True)
class Proposal:
    """An org to map and the company chosen for it."""

    module: str
    org_id: str
    org_name: str
    suggestion: Suggestion


def _window_ratio(org: NormalName, name: NormalName) -> float:
    """How well ``name``'s words match the best run of as many consecutive words of ``org``
    (each word nearly the same: typos only), or 100 if ``org`` written as one word starts with
    ``name`` ("contosoltdhq")."""
    if len(name.compact) >= MIN_GLUED and org.compact.startswith(name.compact):
        return 100.0
    n, best = len(name.tokens), 0.0
    for i in range(len(org.tokens) - n + 1):
        window = org.tokens[i : i + n]
        if all(
            fuzz.ratio(a, b) >= MIN_WINDOW_RATIO for a, b in zip(window, name.tokens, strict=True)
        ):
            best = max(best, fuzz.ratio(" ".join(window), name.text))
    return best


def similarity(org: NormalName, name: NormalName) -> float:
    """How surely ``org`` names the same customer as ``name``, from 0 to 1."""
    if not org or not name:
        return 0.0
    if org.compact == name.compact or org.stem == name.stem:
        return 1.0
    best = max(fuzz.ratio(org.stem, name.stem), fuzz.token_sort_ratio(org.text, name.text)) / 100
    shorter, longer = len(name.compact), len(org.compact)
    if shorter < longer:  # the org may add words: a site, a product, "HQ", "Backup"
        window = _window_ratio(org, name)
        if window >= MIN_WINDOW_RATIO:
            longer = max(shorter, len(org.essential))
            best = max(best, _share(shorter, longer) * window / 100)
    elif _truncated(org, name):
        best = max(best, _share(longer, shorter))
    return round(best, 4)


def _share(part: int, whole: int) -> float:
    return EXTRA_WORDS_BASE + (1 - EXTRA_WORDS_BASE) * part / whole


def _truncated(org: NormalName, name: NormalName) -> bool:
    """Whether ``org`` is the long start of ``name``: a domain keeps a name's first words."""
    long_enough = len(org.tokens) >= MIN_TRUNCATED_WORDS or len(org.compact) >= MIN_TRUNCATED
    return long_enough and name.compact.startswith(org.compact)


@dataclass(frozen=True, slots=True)
class _Known:
    company: int
    normal: NormalName
    alias: str | None


class Matcher:
    """Scores org names against every company of a tenant and the names mapped to them."""

    def __init__(self, companies: Sequence[Company]) -> None:
        self.companies = list(companies)
        known: dict[tuple[int, str], _Known] = {}
        for i, company in enumerate(self.companies):
            for text, alias in ((company.name, None), *((a, a) for a in company.aliases)):
                normal = normalise(text)
                if normal and (i, normal.text) not in known:
                    known[(i, normal.text)] = _Known(i, normal, alias)
        self._known = list(known.values())
        self._shortlist = Shortlist([k.normal for k in self._known])

    def rank(
        self, name: str, limit: int = SUGGESTIONS, floor: float = SUGGESTION_FLOOR
    ) -> list[Suggestion]:
        """The best companies for an org name first (at most ``limit``, at least ``floor``)."""
        org = normalise(name)
        best: dict[int, Suggestion] = {}
        for k in self._shortlist(org):
            known = self._known[k]
            score = similarity(org, known.normal)
            held = best.get(known.company)
            if score < floor or (held is not None and held.score >= score):
                continue
            company = self.companies[known.company]
            best[known.company] = Suggestion(company.id, company.name, score, known.alias)
        ranked = sorted(best.values(), key=lambda s: (-s.score, s.name, s.company_id))
        return ranked[:limit]


def unambiguous(
    ranked: Sequence[Suggestion], min_score: float, margin: float = DEFAULT_MARGIN
) -> Suggestion | None:
    """The best suggestion if it is good enough and clearly ahead of the runner-up."""
    if not ranked or ranked[0].score < min_score:
        return None
    runner_up = ranked[1].score if len(ranked) > 1 else 0.0
    return ranked[0] if ranked[0].score - runner_up >= margin else None


def plan_auto_map(
    orgs: Iterable[tuple[str, str, str]],
    companies: Sequence[Company],
    min_score: float = DEFAULT_MIN_SCORE,
    margin: float = DEFAULT_MARGIN,
) -> list[Proposal]:
    """The mappings to make for unmapped ``(module, org_id, org_name)``: only clear winners."""
    matcher = Matcher(companies)
    proposals = []
    for module, org_id, name in orgs:
        chosen = unambiguous(matcher.rank(name, limit=2, floor=0.0), min_score, margin)
        if chosen is not None:
            proposals.append(Proposal(module, org_id, name, chosen))
    return proposals
