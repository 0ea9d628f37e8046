"""Name normalisation: the spellings modules use for one customer reduce to the same words."""

from __future__ import annotations

import pytest

from services.mapping.matching.names import normalise, unglue


def words(name: str) -> tuple[str, ...]:
    return normalise(name).tokens


@pytest.mark.parametrize(
    "spelling",
    [
        "Contoso",
        "Contoso Ltd",
        "Contoso Ltd.",
        "CONTOSO LIMITED",
        "contoso ltd",
        "Contoso, Inc.",
        "Contoso Incorporated",
        "Contoso LLC",
        "Contoso L.L.C.",
        "Contoso GmbH",
        "Contoso G.m.b.H.",
        "Contoso AG",
        "Contoso A.G.",
        "Contoso SA",
        "Contoso S.A.",
        "Contoso BV",
        "Contoso B.V.",
        "Contoso Pty Ltd",
        "Contoso Pty. Ltd.",
        "Contoso PTY LIMITED",
        "Contoso SARL",
        "Contoso S.A.R.L.",
        "Contoso S.à r.l.",
        "Contoso Sàrl",
        "Contoso Srl",
        "Contoso S.r.l.",
        "Contoso Oy",
        "Contoso Oyj",
        "Contoso PLC",
        "Contoso Public Limited Company",
        "Contoso UG",
        "Contoso UG (haftungsbeschränkt)",
        "Contoso UG (haftungsbeschraenkt)",
        "Contoso e.K.",
        "Contoso e. K.",
        "Contoso eK",
        "Contoso DAC",
        "Contoso D.A.C.",
        "Contoso LLP",
        "Contoso L.L.P.",
        "Contoso Co.",
        "Contoso Company",
        "Contoso Corp.",
        "Contoso Corporation",
        "Contoso GmbH & Co. KG",
        "Contoso GmbH u. Co. KG",
        "Contoso SpA",
        "Contoso S.p.A.",
        "Contoso SAS",
        "Contoso NV",
        "Contoso N.V.",
        "Contoso SL",
        "Contoso AB",
        "Contoso EURL",
        "contoso-ltd",
        "contoso_ltd",
        "  Contoso Ltd *",
        "Contoso Ltd.,",
        "contoso.com",
        "contoso.co.uk",
        "contoso.onmicrosoft.com",
        "CONTOSO.DE",
    ],
)
def test_legal_forms_case_punctuation_slugs_and_domains_drop_out(spelling: str) -> None:
    assert words(spelling) == ("contoso",)


@pytest.mark.parametrize(
    "spelling",
    [
        "Müller & Söhne GmbH",
        "Mueller & Soehne",
        "Muller und Sohne",
        "MÜLLER AND SÖHNE",
        "muller-sohne-gmbh",
        "Müller + Söhne",
        "Müller&Söhne",
        "mueller_und_soehne",
    ],
)
def test_accents_german_spelling_and_the_ampersand(spelling: str) -> None:
    assert words(spelling) == ("muller", "sohne")


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("Rossi e Figli S.r.l.", ("rossi", "figli")),
        ("Dubois et Fils", ("dubois", "fils")),
        ("de Jong en Bakker", ("de", "jong", "bakker")),
        ("García y Asociados", ("garcia", "asociados")),
        ("Virtanen ja Pojat Oy", ("virtanen", "pojat")),
        ("The Quiet Harbor Group", ("quiet", "harbor", "group")),
        ("Quiet Harbor Group, The", ("quiet", "harbor", "group")),
        ("O'Brien Interiors", ("obrien", "interiors")),
        ("Groß Logistik", ("gross", "logistik")),
        ("Lößner Electric", ("lossner", "electric")),
        ("A. Datum", ("a", "datum")),
        ("Dr. Turner", ("dr", "turner")),
        ("northwind-traders.co.uk", ("northwind", "traders")),
    ],
)
def test_connectors_articles_and_abbreviations(spelling: str, expected: tuple[str, ...]) -> None:
    assert words(spelling) == expected


def test_a_name_made_only_of_legal_forms_keeps_them() -> None:
    assert words("AG") == ("ag",)
    assert words("The Company") == ("the", "company")
    assert not normalise("  - ")


def test_compact_and_stem_for_names_written_as_one_word() -> None:
    assert normalise("contosoltd").stem == "contoso"
    assert normalise("contosoptyltd.onmicrosoft.com").stem == "contoso"
    assert normalise("Red Harbor Logistics").compact == "redharborlogistics"
    assert normalise("Red Harbor Logistics").stem == "redharborlogistics"
    assert normalise("Blue Harbor").text == normalise("Blu Harbor").text  # "ue" as in "ü"
    assert unglue("novaag") == "nova"
    assert unglue("ag") == "ag"  # too short to be a name with a legal form glued to it
    assert unglue("sag") == "sag"


def test_decorations_are_not_essential() -> None:
    assert normalise("Contoso - HQ (Backup)").essential == "contoso"
    assert normalise("Contoso Site 2").essential == "contoso"
    assert normalise("HQ").essential == "hq"
