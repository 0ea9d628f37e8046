"""Suggestions and auto-mapping decisions: pure, on names alone."""

from __future__ import annotations

import itertools

import pytest

from services.mapping.matching.names import normalise
from services.mapping.matching.scoring import (
    DEFAULT_MARGIN,
    DEFAULT_MIN_SCORE,
    Company,
    Matcher,
    Suggestion,
    plan_auto_map,
    similarity,
    unambiguous,
)
from tools.sample import generate

COMPANIES = [
    Company("c-contoso", "Contoso Ltd"),
    Company("c-pharma", "Contoso Pharma GmbH"),
    Company("c-fabrikam", "Fabrikam, Inc."),
    Company("c-mueller", "Müller & Söhne GmbH"),
    Company("c-harbor", "The Blue Harbor Logistics Company"),
    Company("c-litware", "Litware SARL"),
]


def sim(a: str, b: str) -> float:
    return similarity(normalise(a), normalise(b))


@pytest.mark.parametrize(
    ("org", "company"),
    [
        ("CONTOSO LIMITED", "Contoso Ltd."),
        ("contoso-ltd", "Contoso Ltd."),
        ("contosoltd", "Contoso Ltd."),
        ("contoso.onmicrosoft.com", "Contoso Ltd."),
        ("Contoso Ltd - HQ", "Contoso Ltd."),
        ("Contoso (Backup)", "Contoso Ltd."),
        ("mueller_und_soehne", "Müller & Söhne GmbH"),
        ("Söhne & Müller", "Müller & Söhne GmbH"),
    ],
)
def test_spellings_of_one_customer_score_one(org: str, company: str) -> None:
    assert sim(org, company) == 1.0


@pytest.mark.parametrize(
    ("org", "company", "low", "high"),
    [
        ("Contsoo Ltd", "Contoso Ltd", 0.8, 0.9),  # a typo
        ("Fabrikam Inc - Branch Warehouse Kingston", "Fabrikam, Inc.", 0.85, 0.95),  # a site
        ("blueharborlogistics.com", "Blue Harbor Logistics Transport", 0.85, 0.99),  # a domain
        ("Contoso Pharma", "Contoso Ltd", 0.85, 0.95),  # another company of the same brand
    ],
)
def test_partial_evidence_scores_between(org: str, company: str, low: float, high: float) -> None:
    assert low <= sim(org, company) < high


@pytest.mark.parametrize(
    ("org", "company"),
    [
        ("Test Org", "Contoso Ltd"),
        ("MSP Internal", "Fabrikam, Inc."),
        ("Sandbox", "Litware SARL"),
        ("Harbor", "Blue Harbor Logistics"),
        ("", "Contoso"),
    ],
)
def test_different_names_score_low(org: str, company: str) -> None:
    assert sim(org, company) < DEFAULT_MIN_SCORE


def test_rank_orders_companies_best_first_within_limit_and_floor() -> None:
    ranked = Matcher(COMPANIES).rank("CONTOSO PHARMA G.M.B.H.")
    assert [s.company_id for s in ranked[:2]] == ["c-pharma", "c-contoso"]
    assert ranked[0].score == 1.0 and ranked[0].name == "Contoso Pharma GmbH"
    assert all(a.score >= b.score for a, b in itertools.pairwise(ranked))
    assert len(Matcher(COMPANIES).rank("Contoso", limit=1)) == 1
    assert Matcher(COMPANIES).rank("Completely Unrelated Name") == []
    assert Matcher([]).rank("Contoso") == []


def test_an_org_mapped_in_another_module_is_evidence_for_its_company() -> None:
    companies = [
        Company("c-1", "Acme Holdings", aliases=("ACME-EU Datacenter",)),
        Company("c-2", "Datacenter Services"),
    ]
    [best, *_] = Matcher(companies).rank("acme-eu datacenter")
    assert (best.company_id, best.score, best.evidence) == ("c-1", 1.0, "ACME-EU Datacenter")
    [own] = Matcher(companies).rank("Acme Holdings", limit=1)
    assert own.evidence is None


def s(company_id: str, score: float) -> Suggestion:
    return Suggestion(company_id, company_id, score)


def test_unambiguous_needs_the_threshold_and_a_lead_over_the_runner_up() -> None:
    assert unambiguous([], 0.9) is None
    assert unambiguous([s("a", 0.89)], 0.9) is None
    assert unambiguous([s("a", 0.9)], 0.9) == s("a", 0.9)
    assert unambiguous([s("a", 1.0), s("b", 1.0)], 0.9) is None
    assert unambiguous([s("a", 1.0), s("b", 1.0 - DEFAULT_MARGIN / 2)], 0.9) is None
    assert unambiguous([s("a", 1.0), s("b", 0.9)], 0.9) == s("a", 1.0)
    assert unambiguous([s("a", 1.0), s("b", 0.99)], 0.9, margin=0.0) == s("a", 1.0)


def test_plan_maps_clear_winners_only() -> None:
    orgs = [
        ("datto_rmm", "1", "contoso-ltd"),  # clear
        ("datto_rmm", "2", "Contoso Pharma"),  # clear: the whole name beats the brand
        ("datto_rmm", "3", "Test Org"),  # nobody's
        ("graphus", "4", "litware.fr"),  # clear
    ]
    twins = [*COMPANIES, Company("c-fab-2", "Fabrikam Inc")]  # two companies, one name
    orgs.append(("vsa_10", "5", "FABRIKAM"))
    planned = {(p.module, p.org_id): p.suggestion.company_id for p in plan_auto_map(orgs, twins)}
    assert planned == {
        ("datto_rmm", "1"): "c-contoso",
        ("datto_rmm", "2"): "c-pharma",
        ("graphus", "4"): "c-litware",
    }
    assert plan_auto_map(orgs, twins, min_score=1.01) == []


@pytest.mark.parametrize("seed", [3, 8])
def test_auto_map_on_a_labelled_sample_is_precise_and_finds_most(seed: int) -> None:
    """The generator's truth: orgs of nobody must stay unmapped (or count against)."""
    msp = generate(seed, 80)
    truth = {(o.module, o.org_id): o.company_key for o in msp.orgs}
    companies = [Company(c.key, c.name) for c in msp.companies]
    last = {
        o.org_id: o.name_on(msp.period_end if o.last_day is None else o.last_day) for o in msp.orgs
    }
    plan = plan_auto_map(((o.module, o.org_id, last[o.org_id]) for o in msp.orgs), companies)
    correct = sum(1 for p in plan if truth[(p.module, p.org_id)] == p.suggestion.company_id)
    labelled = sum(1 for key in truth.values() if key is not None)
    assert correct / len(plan) >= 0.99
    assert correct / labelled >= 0.90
