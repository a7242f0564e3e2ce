"""The kind model: P(maintenance | normalised notice text), from a table of character n-grams.

A logistic regression on character 1-3-grams (sublinear TF-IDF, l2-normalised), fitted by
``bench/fit_kind_model.py`` on the committed corpora and shipped as ``kind_model.json`` (2,000
n-grams, about 100 kB). Scored here in pure Python, with no numpy and no scikit-learn; the table is
read once, on first use, through ``importlib.resources``. It sits beside the rules and only ever sends
a notice to review (``watcher.notices.understand``); see docs/notices.md, "The kind model beside the
rules".
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources

#: Below this the rules' "maintenance" goes to review as "other"; above ``HIGH`` another kind with time
#: ranges goes to review. Chosen in bench/kind_model_experiment.py after its results were seen.
LOW = 0.4
HIGH = 0.6
#: At or above this, a notice whose maintenance wording the rules set aside only because no window is tied
#: to a stop, with windows not yet past, is read as maintenance, in review. Chosen in
#: bench/kind_promotion_study.py (the rules as first seen on each blind set, the model fitted without it).
PROMOTE = 0.7
#: Another kind with a time range not yet past (kept, or set aside for want of a known word of disruption) goes to
#: review at this P already: chosen in bench/first_sight_kind.py (the rules as first seen on each blind set, the model
#: fitted without it), where 0.5 took as many silent misses away as 0.4 with fewer notices sent to review.
AHEAD = 0.5
#: Ranges ahead set aside for want of a known word of disruption go to review on ``HIGH`` only in a text of this
#: many characters or more: on a sentence or two the table rests on a handful of n-grams
#: ("双11预售将于10月20日20:00开启，尾款支付时间为……" reads 0.84).
MIN_CHARS = 60


def grams(text: str) -> list[str]:
    """Character 1-3-grams of the lower-cased text (the analyzer the table was fitted with)."""
    t = text.lower()
    return [t[i : i + n] for n in (1, 2, 3) for i in range(len(t) - n + 1)]


@dataclass(frozen=True, slots=True)
class KindTable:
    """n-gram -> [idf, weight], plus an intercept."""

    weights: dict[str, list[float]]
    intercept: float

    def probability(self, text: str) -> float:
        """P(maintenance) for a text already normalised (``watcher.notices.normalize.normalize``)."""
        w = self.weights
        counts = Counter(g for g in grams(text) if g in w)
        vec = {g: (1.0 + math.log(c)) * w[g][0] for g, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        z = self.intercept + sum(v * w[g][1] for g, v in vec.items()) / norm
        if z < -700.0:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))


@cache
def table() -> KindTable:
    """The shipped table, read once."""
    raw = json.loads(resources.files("watcher.notices").joinpath("kind_model.json").read_bytes())
    # the parsed lists are kept as they are: a second copy would cost the watcher memory for nothing
    weights: dict[str, list[float]] = raw["weights"]
    return KindTable(weights, float(raw["intercept"]))


def probability(text: str) -> float:
    """P(maintenance | normalised text) from the shipped table."""
    return table().probability(text)
