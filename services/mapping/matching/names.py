"""Organisation names reduced to what identifies a customer: pure, no I/O.

Modules spell one customer many ways ("Contoso Ltd." / "CONTOSO LIMITED" / "contoso-ltd" /
"contoso.onmicrosoft.com"). ``normalise`` drops what does not identify it: case, accents
(and the German "ue" for "ü"), punctuation, legal forms, "&"/"and" in seven languages, "the",
and the top-level domain of a domain name. What is left is compared by ``matching``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Legal forms as tokens (after dotted abbreviations are joined: "G.m.b.H." -> "gmbh").
LEGAL_FORMS = frozenset(
    {
        "ab",
        "ag",
        "bv",
        "co",
        "company",
        "corp",
        "corporation",
        "dac",
        "ek",
        "eurl",
        "gmbh",
        "haftungsbeschrankt",
        "inc",
        "incorporated",
        "kg",
        "limited",
        "llc",
        "llp",
        "ltd",
        "nv",
        "oy",
        "oyj",
        "plc",
        "pty",
        "sa",
        "sarl",
        "sas",
        "sl",
        "spa",
        "srl",
        "ug",
    }
)
# Several-token legal forms whose tokens would otherwise survive ("Public Limited Company").
_LEGAL_PHRASES = (("public", "limited", "company"),)
# "and" in the languages of the catalog's customers, "the", and "u." of "GmbH u. Co. KG".
CONNECTORS = frozenset({"and", "und", "et", "en", "e", "y", "ja", "the", "u"})
# Words tools add to an organisation's name that say nothing about whose it is ("Contoso -
# HQ", "Contoso (M365)", "contoso-backup"). Digits count as such too ("Site 2").
DECORATIONS = frozenset(
    {
        "hq",
        "head",
        "main",
        "office",
        "branch",
        "site",
        "backup",
        "backups",
        "cloud",
        "bdr",
        "prod",
        "production",
        "managed",
        "customer",
        "client",
        "m365",
        "o365",
        "microsoft",
        "exchange",
        "online",
        "google",
        "workspace",
        "gws",
        "soc",
        "mdr",
        "rmm",
        "servers",
        "workstations",
        "remote",
        "workers",
        "old",
        "archived",
        "temp",
    }
)
# Legal forms that slugs glue to the name ("contosoltd"), longest first.
_GLUED_FORMS = tuple(
    sorted(
        (
            "gmbh",
            "ltd",
            "limited",
            "inc",
            "llc",
            "corp",
            "plc",
            "llp",
            "bv",
            "sarl",
            "srl",
            "spa",
            "oy",
            "dac",
            "ag",
            "sa",
            "ug",
            "ek",
            "pty",
            "co",
            "kg",
        ),
        key=len,
        reverse=True,
    )
)
MIN_GLUED_STEM = 4

_DOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)*\.[a-z]{2,}$")
_MAIL_HOSTS = (".onmicrosoft.com", ".mail.onmicrosoft.com")
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov"})
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_GERMAN = (("ae", "a"), ("oe", "o"), ("ue", "u"))


@dataclass(frozen=True, slots=True)
class NormalName:
    """``tokens``: the identifying words; ``compact``: them without spaces, for names written
    as one word (slugs, domains); ``stem``: ``compact`` without a glued legal form."""

    tokens: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.tokens)

    @property
    def compact(self) -> str:
        return "".join(self.tokens)

    @property
    def essential(self) -> str:
        """``compact`` without decoration words, unless nothing else is left."""
        kept = [t for t in self.tokens if t not in DECORATIONS and not t.isdigit()]
        return "".join(kept) if kept else self.compact

    @property
    def stem(self) -> str:
        return unglue(self.compact) if len(self.tokens) == 1 else self.compact

    def __bool__(self) -> bool:
        return bool(self.tokens)


def fold(text: str) -> str:
    """Lower case, ``ß`` as ``ss``, accents dropped: ``Müller`` -> ``muller``."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss").replace("ẞ", "ss"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _undomain(text: str) -> str:
    """``contoso-pharma.co.uk`` -> ``contoso pharma``; other text unchanged."""
    if " " in text or not _DOMAIN.match(text):
        return text
    for host in _MAIL_HOSTS:
        if text.endswith(host):
            return text[: -len(host)]
    labels = text.split(".")
    labels.pop()  # the top-level domain
    while len(labels) > 1 and labels[-1] in _SECOND_LEVEL:
        labels.pop()
    return " ".join(labels)


def _join_single_letters(tokens: list[str]) -> list[str]:
    """Runs of one-letter tokens are a spelt-out abbreviation: ``G.m.b.H.`` -> ``gmbh``,
    ``S.à r.l.`` -> ``sarl``."""
    out: list[str] = []
    run: list[str] = []
    for token in [*tokens, ""]:
        if len(token) == 1:
            run.append(token)
            continue
        out.extend(["".join(run)] if len(run) > 1 else run)
        run = []
        if token:
            out.append(token)
    return out


def _drop_phrases(tokens: list[str]) -> list[str]:
    for phrase in _LEGAL_PHRASES:
        n = len(phrase)
        i = 0
        while i + n <= len(tokens):
            if tuple(tokens[i : i + n]) == phrase:
                del tokens[i : i + n]
            else:
                i += 1
    return tokens


def _german(token: str) -> str:
    for written, letter in _GERMAN:
        token = token.replace(written, letter)
    return token


def unglue(compact: str) -> str:
    """``contosoptyltd`` -> ``contoso``: legal forms glued to the end of a one-word name."""
    while True:
        form = next(
            (
                f
                for f in _GLUED_FORMS
                if compact.endswith(f) and len(compact) - len(f) >= MIN_GLUED_STEM
            ),
            None,
        )
        if form is None:
            return compact
        compact = compact[: -len(form)]


@lru_cache(maxsize=65536)
def normalise(name: str) -> NormalName:
    text = _undomain(fold(name).strip())
    text = text.replace("&", " and ").replace("+", " and ").replace("'", "").replace("\u2019", "")
    tokens = _join_single_letters([t for t in _NON_ALNUM.split(text) if t])
    tokens = _drop_phrases(tokens)
    tokens = [_german(t) for t in tokens]
    kept = [t for t in tokens if t not in LEGAL_FORMS and t not in CONNECTORS]
    if not kept:  # a name made only of legal forms or connectors keeps them
        kept = tokens
    return NormalName(tuple(kept))
