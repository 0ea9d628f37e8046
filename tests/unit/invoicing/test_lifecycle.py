"""The invoice lifecycle of PRODUCT.md sections 6 and 12: draft -> posted -> paid; draft or
posted -> void; paid -> posted when a payment is reversed; nothing else."""

from __future__ import annotations

import itertools

import pytest

from services.invoicing.documents.lifecycle import (
    InvoiceStatus,
    TransitionRefused,
    advance,
    allowed,
    check,
    check_draft,
)
from shared.problems import Conflict

S = InvoiceStatus
ALLOWED = {
    (S.DRAFT, S.POSTED),
    (S.POSTED, S.PAID),
    (S.DRAFT, S.VOID),
    (S.POSTED, S.VOID),
    (S.PAID, S.POSTED),
}
REFUSED = sorted(set(itertools.product(S, S)) - ALLOWED)


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_the_spec_transitions_are_allowed(current: S, target: S) -> None:
    assert allowed(current, target)
    check(current, target)
    assert advance(current, target) is target


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_every_other_transition_is_refused_as_a_conflict(current: S, target: S) -> None:
    assert not allowed(current, target)
    with pytest.raises(TransitionRefused) as refused:
        advance(current, target)
    assert isinstance(refused.value, Conflict) and refused.value.status == 409
    assert str(current) in refused.value.detail


def test_eleven_transitions_are_refused() -> None:
    assert len(REFUSED) == 11  # 16 pairs of statuses, 5 allowed


@pytest.mark.parametrize("current", [S.POSTED, S.PAID, S.VOID])
def test_only_a_draft_is_posted_though_a_paid_invoice_reopens(current: S) -> None:
    with pytest.raises(
        TransitionRefused, match=f"Only a draft can be posted; this invoice is {current}"
    ):
        check_draft(current)
    check_draft(S.DRAFT)


def test_the_refusals_say_what_the_status_must_be() -> None:
    with pytest.raises(TransitionRefused, match=r"Only a draft is posted.*this one is void"):
        check(S.VOID, S.POSTED)
    with pytest.raises(TransitionRefused, match="Only a draft or a posted invoice can be voided"):
        check(S.PAID, S.VOID)
    with pytest.raises(TransitionRefused, match="against posted invoices; this one is draft"):
        check(S.DRAFT, S.PAID)


def test_statuses_are_their_stored_words() -> None:
    assert [str(s) for s in S] == ["draft", "posted", "paid", "void"]
