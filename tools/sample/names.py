"""Company names, the ways modules spell them, and module organisation ids.

Every draw comes from the ``random.Random`` passed in, so a seed reproduces everything. No
floats: chances are drawn as integers (per cent or per mille).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from random import Random

from tools.sample import words as w

__all__ = [
    "CompanyName",
    "CompanyNamer",
    "OrgIdFactory",
    "OrgNamer",
    "fold",
    "slug",
]

_GERMAN = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
)
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def strip_accents(text: str) -> str:
    """``Müller`` -> ``Muller``, ``Groß`` -> ``Gross``."""
    text = text.replace("ß", "ss")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def transliterate(text: str) -> str:
    """German spelling without umlauts (``Müller`` -> ``Mueller``), other accents stripped."""
    return strip_accents(text.translate(_GERMAN))


def slug(text: str, sep: str = "-") -> str:
    """``Müller & Söhne GmbH`` -> ``muller-sohne-gmbh``."""
    plain = strip_accents(text).lower().replace("'", "")
    return _NON_ALNUM.sub(sep, plain).strip(sep)


def fold(text: str) -> str:
    """A key for "is this the same name": letters and digits only, no accents, lower case."""
    return slug(text, "")


def below(rng: Random, n: int) -> int:
    """An int in [0, n), n < 2**16: like ``randrange`` (bias < 2**-16), several times faster."""
    return (rng.getrandbits(32) * n) >> 32


def chance(rng: Random, per_cent: int) -> bool:
    return (rng.getrandbits(32) * 100) >> 32 < per_cent


@dataclass(frozen=True, slots=True)
class CompanyName:
    core: str  # the name without legal form: "Müller & Söhne"
    suffix: str  # legal form as registered: "GmbH" ("" for none)
    country: w.Country
    comma: bool = False  # "Blue Harbor Logistics, Inc."

    @property
    def full(self) -> str:
        if not self.suffix:
            return self.core
        return f"{self.core}{',' if self.comma else ''} {self.suffix}"


class CompanyNamer:
    """Draws unique, plausible company names; a few deliberately share a brand word."""

    def __init__(self, rng: Random) -> None:
        self._rng = rng
        self._taken: set[str] = set()
        self._famous = list(w.FAMOUS)
        rng.shuffle(self._famous)
        self._famous.remove("Contoso")
        self._famous.append("Contoso")  # popped first: every sample has a Contoso
        self._brands: list[str] = []
        self._twin = False
        self._weights = [c.weight for c in w.COUNTRIES]

    def country(self) -> w.Country:
        return self._rng.choices(w.COUNTRIES, weights=self._weights)[0]

    def take(self, name: str) -> bool:
        key = fold(name)
        if not key or key in self._taken:
            return False
        self._taken.add(key)
        return True

    def company(self, country: w.Country, index: int) -> CompanyName:
        rng = self._rng
        for attempt in range(200):
            core, bare = self._core(country.lang, index, attempt)
            if self.take(core):
                break
        else:  # practically unreachable: the word lists allow millions of names
            core, bare = f"{self._core(country.lang, index, 0)[0]} {index}", False
            self.take(core)
        first = core.split()[0]
        if first not in ("The", "Dr.") and len(first) > 2:
            self._brands.append(first)
        suffix = rng.choice(country.suffixes)
        if bare and chance(rng, 50):
            suffix = ""
        comma = suffix in ("Inc", "Inc.", "LLC") and chance(rng, 40)
        return CompanyName(core=core, suffix=suffix, country=country, comma=comma)

    def _industry(self, lang: str) -> str:
        pool = w.INDUSTRIES["en"] if lang == "en" or chance(self._rng, 40) else w.INDUSTRIES[lang]
        return self._rng.choice(pool)

    def _surname(self, lang: str) -> str:
        pool = w.SURNAMES[lang] if chance(self._rng, 85) else w.SURNAMES["en"]
        return self._rng.choice(pool)

    def _core(self, lang: str, index: int, attempt: int) -> tuple[str, bool]:
        """A name without legal form, and whether it often goes without one."""
        rng = self._rng
        if attempt == 0 and index >= 5 and not self._twin and "Contoso" in self._brands:
            # A namesake of the classic: "Contoso Ltd" and "Contoso Pharma GmbH".
            self._twin = True
            return f"Contoso {self._industry(lang)}", False
        if attempt == 0 and self._famous[-1:] == ["Contoso"] and index >= 3:
            return self._famous.pop(), False  # every sample of 4+ customers has a Contoso
        if self._famous and attempt == 0 and chance(rng, 45 if index < 12 else 8):
            return self._famous.pop(), False
        if self._brands and attempt == 0 and chance(rng, 6):
            # Same brand, another company: "Contoso Ltd" and "Contoso Pharma GmbH".
            return f"{rng.choice(self._brands)} {self._industry(lang)}", False
        roll = rng.randrange(100)
        if roll < 28:
            return f"{self._surname(lang)} {self._industry(lang)}", False
        if roll < 38:
            other = self._surname(lang) if chance(rng, 50) else rng.choice(w.PARTNER_WORDS[lang])
            return f"{self._surname(lang)} & {other}", True
        if roll < 53:
            places = w.PLACES[lang] if chance(rng, 70) else w.PLACES["en"]
            return f"{rng.choice(places)} {self._industry(lang)}", False
        if roll < 68:
            return (
                f"{rng.choice(w.ADJECTIVES)} {rng.choice(w.NOUNS)} {self._industry('en')}",
                False,
            )
        if roll < 85:
            brand = rng.choice(w.BRAND_HEADS) + rng.choice(w.BRAND_TAILS)
            return (brand if chance(rng, 40) else f"{brand} {self._industry(lang)}"), False
        if roll < 95:
            return f"{rng.choice(w.PREFIX_TRADES[lang])} {self._surname(lang)}", True
        tail = rng.choice(("Company", "Group", "Collective", "Partnership"))
        return f"The {rng.choice(w.ADJECTIVES)} {rng.choice(w.NOUNS)} {tail}", True


_SUFFIX_ALTERNATIVES: dict[str, tuple[str, ...]] = {}
for _family in w.SUFFIX_FAMILIES:
    for _form in _family:
        _SUFFIX_ALTERNATIVES.setdefault(_form, tuple(f for f in _family if f != _form))

_DOMAIN_MODULES = frozenset(
    {"spanning_google", "spanning_o365", "saas_protection", "graphus", "datto_saas_defense"}
)
_SLUG_MODULES = frozenset({"cyber_hawk", "uniview", "vulscan", "network_detective_pro"})
_EXTRA_FAMILY: dict[str, str] = {
    "datto_bcdr": "backup",
    "datto_endpoint_backup_pc": "backup",
    "datto_endpoint_backup_server": "backup",
    "datto_azure_backup": "backup",
    "saas_protection": "m365",
    "spanning_o365": "m365",
    "spanning_google": "google",
    "datto_edr": "security",
    "rocketcyber": "security",
    "graphus": "security",
    "datto_saas_defense": "security",
    "datto_rmm": "rmm",
    "vsa_10": "rmm",
}


class OrgNamer:
    """Spells a company name the way a module's admins typed it."""

    def __init__(self, rng: Random) -> None:
        self._rng = rng

    def variant(self, name: CompanyName, module: str, *, extras: bool = True) -> str:
        """One spelling of ``name``: case, slug, legal form, "&", accents, typos, extra words."""
        rng = self._rng
        if chance(rng, 10):
            return name.full
        if module in _DOMAIN_MODULES and chance(rng, 30):
            return self.domain(name, module)
        core, suffix, lang = name.core, name.suffix, name.country.lang
        roll = rng.randrange(100)
        if suffix and roll < 35:
            suffix = ""
        elif suffix and roll < 70:
            suffix = rng.choice(_SUFFIX_ALTERNATIVES.get(suffix, (suffix,)))
        if core.startswith("The ") and chance(rng, 40):
            core = core[4:]
        if chance(rng, 6 if " & " in core or core.startswith("The ") else 3):
            core = self.reorder(core)
        if " & " in core and chance(rng, 50):
            core = core.replace(" & ", rng.choice((f" {w.AND_WORDS[lang]} ", " and ", " + ", "&")))
        elif " and " in core and chance(rng, 40):
            core = core.replace(" and ", " & ")
        if not core.isascii() and chance(rng, 60):
            core = transliterate(core) if lang == "de" and chance(rng, 50) else strip_accents(core)
        if chance(rng, 9):
            core = self.typo(core)
        if chance(rng, 2) and len(core.split()) >= 3:
            core = "".join(part[0] for part in core.split() if part[0].isalpha()).upper()
        text = core if not suffix else f"{core}{',' if name.comma else ''} {suffix}"
        if extras and chance(rng, 14):
            family = _EXTRA_FAMILY.get(module, "*")
            pool = w.EXTRA_WORDS[family] if chance(rng, 60) else w.EXTRA_WORDS["*"]
            text += rng.choice(pool)
        text = self._style(text, module)
        if chance(rng, 7):
            text += rng.choice((".", ",", " ", " -", " *", "  "))
        if chance(rng, 3) and " " in text.strip():
            text = text.replace(" ", "  ", 1)
        return text if text.strip() else name.full

    def site(self, name: CompanyName, module: str) -> str:
        """A second organisation of the same customer in one module."""
        rng = self._rng
        base = self.variant(name, module, extras=False).rstrip(" .,-*")
        place = rng.choice(w.SITE_WORDS + w.PLACES.get(name.country.lang, ()))
        return rng.choice((f"{base} - {place}", f"{base} ({place})", f"{base} {place}"))

    def domain(self, name: CompanyName, module: str) -> str:
        rng = self._rng
        words = transliterate(name.core).lower().replace("'", "").replace("&", " ").split()
        words = [_NON_ALNUM.sub("", x) for x in words if x not in ("the",)]
        words = [x for x in words if x] or ["customer"]
        label = rng.choice(("", "-")).join(words[:3])
        if module != "spanning_google" and chance(rng, 40):
            tail = fold(name.suffix) if chance(rng, 50) else ""
            return f"{label.replace('-', '')}{tail}.onmicrosoft.com"
        return f"{label}.{name.country.tld}"

    def _style(self, text: str, module: str) -> str:
        rng = self._rng
        if module in _SLUG_MODULES and chance(rng, 55):
            return slug(text, rng.choice(("-", "-", "_")))
        roll = rng.randrange(100)
        if roll < 14:
            return text.upper()
        if roll < 24:
            return slug(text, rng.choice(("-", "-", "_", "")))
        if roll < 28:
            return text.lower()
        return text

    def reorder(self, core: str) -> str:
        if core.count(" & ") == 1:
            left, right = core.split(" & ")
            return f"{right} & {left}"
        if core.startswith("The "):
            return f"{core[4:]}, The"
        parts = core.split()
        if len(parts) < 2:
            return core
        return " ".join((*parts[1:], parts[0]))

    def typo(self, core: str) -> str:
        rng = self._rng
        positions = [i for i in range(1, len(core)) if core[i].isalpha()]
        if not positions:
            return core
        i = rng.choice(positions)
        op = rng.randrange(4)
        if op == 0 and i + 1 < len(core) and core[i + 1].isalpha() and core[i + 1] != core[i]:
            return core[:i] + core[i + 1] + core[i] + core[i + 2 :]
        if op == 1 and len(core) > 4:
            return core[:i] + core[i + 1 :]
        if op == 2:
            return core[:i] + core[i] + core[i:]
        neighbours = w.KEYBOARD_NEIGHBOURS.get(core[i].lower())
        if not neighbours:
            return core[:i] + core[i] + core[i:]
        c = rng.choice(neighbours)
        return core[:i] + (c.upper() if core[i].isupper() else c) + core[i + 1 :]


_ID_STYLES: dict[str, tuple[str, int, str]] = {
    # module: (style, width, prefix)
    "datto_rmm": ("uuid", 0, ""),
    "vsa_10": ("numeric", 15, ""),
    "bullphish_id": ("numeric", 6, ""),
    "compliance_manager": ("hex", 24, ""),
    "cyber_hawk": ("slug", 4, ""),
    "dark_web_id": ("numeric", 5, ""),
    "datto_azure_backup": ("uuid", 0, ""),
    "datto_bcdr": ("numeric", 7, ""),
    "datto_edr": ("uuid", 0, ""),
    "datto_endpoint_backup_pc": ("numeric", 7, "DEB-"),
    "datto_endpoint_backup_server": ("numeric", 7, "DEB-"),
    "datto_file_protection": ("numeric", 8, ""),
    "datto_networking": ("hex", 12, "net_"),
    "datto_saas_defense": ("uuid", 0, ""),
    "graphus": ("hex", 24, ""),
    "network_detective_pro": ("slug", 6, ""),
    "passly": ("uuid", 0, ""),
    "rocketcyber": ("numeric", 6, "acct-"),
    "saas_protection": ("numeric", 7, ""),
    "traverse": ("numeric", 5, ""),
    "uniview": ("numeric", 6, "ORG-"),
    "vulscan": ("slug", 4, ""),
    "workplace": ("uuid", 0, ""),
    "spanning_o365": ("uuid", 0, ""),
    "spanning_google": ("google", 7, "C0"),
}

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


class OrgIdFactory:
    """Module-specific, unique organisation ids: uuid, numeric, hex, slug or Google style."""

    def __init__(self, rng: Random) -> None:
        self._rng = rng
        self._used: dict[str, set[str]] = {}

    def new(self, module: str, name: str) -> str:
        used = self._used.setdefault(module, set())
        while True:
            org_id = self._draw(module, name)
            if org_id not in used:
                used.add(org_id)
                return org_id

    def _draw(self, module: str, name: str) -> str:
        rng = self._rng
        style, width, prefix = _ID_STYLES.get(module, ("uuid", 0, ""))
        if style == "numeric":
            return f"{prefix}{rng.randrange(10 ** (width - 1), 10**width)}"
        if style == "hex":
            return f"{prefix}{rng.getrandbits(4 * width):0{width}x}"
        if style == "slug":
            base = slug(name)[:24].strip("-") or "org"
            return f"{base}-{rng.getrandbits(4 * width):0{width}x}"
        if style == "google":
            return prefix + "".join(rng.choice(_BASE36) for _ in range(width))
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
