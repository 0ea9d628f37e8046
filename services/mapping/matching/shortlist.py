"""A fast first pass over a tenant's known names: the few worth scoring exactly for an org.

Scoring every org against every company name exactly is quadratic and slow in Python; this
finds the plausible ones by shared rare words, by one name being the start of the other when
written as one word ("contosoltd", domains keep the first words), and by a vectorised edit
distance on the one-word forms (typos).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from rapidfuzz import fuzz, process

from services.mapping.matching.names import NormalName

PER_SOURCE = 8
MIN_PREFIX = 4
MIN_RATIO = 60


class Shortlist:
    def __init__(self, names: Sequence[NormalName]) -> None:
        self._stems = [n.stem for n in names]
        self._by_token: dict[str, set[int]] = defaultdict(set)
        self._by_compact: dict[str, set[int]] = defaultdict(set)
        self._by_prefix: dict[str, set[int]] = defaultdict(set)
        for i, name in enumerate(names):
            for token in name.tokens:
                self._by_token[token].add(i)
            for form in {name.compact, name.stem}:
                self._by_compact[form].add(i)
                for end in range(MIN_PREFIX, len(form)):
                    self._by_prefix[form[:end]].add(i)
        total = max(1, len(names))
        self._weight = {t: math.log(1 + total / len(ids)) for t, ids in self._by_token.items()}

    def __call__(self, org: NormalName) -> set[int]:
        found: set[int] = set()
        votes: dict[int, float] = defaultdict(float)
        for token in set(org.tokens):
            for i in self._by_token.get(token, ()):
                votes[i] += self._weight[token]
        found.update(sorted(votes, key=lambda i: -votes[i])[:PER_SOURCE])
        for form in {org.compact, org.stem}:
            # A known name that starts the org's ("contoso" in "contosoltdhq") ...
            for end in range(MIN_PREFIX, len(form) + 1):
                found.update(self._by_compact.get(form[:end], ()))
            # ... or that the org's starts (a domain keeps a name's first words).
            longer = sorted(self._by_prefix.get(form, ()), key=lambda i: len(self._stems[i]))
            found.update(longer[:PER_SOURCE])
        for _, _, i in process.extract(
            org.stem, self._stems, scorer=fuzz.ratio, limit=PER_SOURCE, score_cutoff=MIN_RATIO
        ):
            found.add(i)
        return found
