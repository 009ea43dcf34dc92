"""An independent re-implementation of the published formulas.

Written from the raw list of answers with exact fractions (Rocks 2016,
adjusted-Wald; Reichheld 2003 for the raw score) and, when SciPy is
installed, ``scipy.stats.norm`` for the critical value, so it shares no code
with the package. Both must agree to 1e-9 on every generated histogram.
"""

import math
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from scoring import compare, enps, favorability

try:
    from scipy.stats import norm

    def critical_z(confidence):
        return float(norm.ppf(1 - (1 - confidence) / 2))

    def two_sided_p(z):
        return float(2 * norm.sf(abs(z)))

except ImportError:  # SciPy is optional; fall back to the formula as written.
    from statistics import NormalDist

    def critical_z(confidence):
        return NormalDist().inv_cdf(1 - (1 - confidence) / 2)

    def two_sided_p(z):
        return 2 * (1 - NormalDist().cdf(abs(z)))


TOLERANCE = 1e-9


def expand(hist, first_score=0):
    return [score for score, count in enumerate(hist, first_score) for _ in range(count)]


def reference_enps(answers, confidence):
    promoters = sum(1 for a in answers if a in (9, 10))
    detractors = sum(1 for a in answers if a <= 6)
    n = len(answers)
    raw = Fraction(100 * (promoters - detractors), n)
    n_adj = Fraction(n) + 3
    p = (promoters + Fraction(3, 4)) / n_adj
    d = (detractors + Fraction(3, 4)) / n_adj
    centre = 100 * (p - d)
    se = 100 * math.sqrt((p + d - (p - d) ** 2) / n_adj)
    half = critical_z(confidence) * se
    low = max(-100.0, float(centre) - half)
    high = min(100.0, float(centre) + half)
    return float(raw), low, high, half, se, float(centre)


histograms = st.lists(st.integers(0, 40), min_size=11, max_size=11).filter(lambda h: sum(h) > 0)
confidences = st.one_of(st.just(0.95), st.just(0.9), st.floats(0.5, 0.999))


@given(histograms, confidences)
def test_enps_matches_the_reference_implementation(hist, confidence):
    raw, low, high, half, se, _centre = reference_enps(expand(hist), confidence)
    result = enps(hist, confidence)
    assert abs(result.score - raw) < TOLERANCE
    assert abs(result.ci_low - low) < TOLERANCE
    assert abs(result.ci_high - high) < TOLERANCE
    assert abs(result.margin_of_error - half) < TOLERANCE
    assert abs(result.standard_error - se) < TOLERANCE


@given(histograms, histograms)
def test_compare_matches_the_reference_implementation(h1, h2):
    # Rocks' R package NPS: the adjusted-Wald centres over the combined
    # standard error; the reported delta stays the raw difference.
    raw1, *_, se1, centre1 = reference_enps(expand(h1), 0.95)
    raw2, *_, se2, centre2 = reference_enps(expand(h2), 0.95)
    z = (centre2 - centre1) / math.sqrt(se1**2 + se2**2)
    comparison = compare(enps(h1), enps(h2))
    assert abs(comparison.delta - (raw2 - raw1)) < TOLERANCE
    assert abs(comparison.z - z) < TOLERANCE
    assert abs(comparison.p_value - two_sided_p(z)) < TOLERANCE


@given(st.lists(st.integers(0, 40), min_size=5, max_size=5).filter(lambda h: sum(h) > 0))
def test_favorability_matches_the_reference_implementation(hist):
    answers = expand(hist, first_score=1)
    n = len(answers)
    result = favorability(hist)
    assert abs(result.favorable - 100 * sum(a >= 4 for a in answers) / n) < TOLERANCE
    assert abs(result.neutral - 100 * sum(a == 3 for a in answers) / n) < TOLERANCE
    assert abs(result.unfavorable - 100 * sum(a <= 2 for a in answers) / n) < TOLERANCE
    assert abs(result.mean - float(Fraction(sum(answers), n))) < TOLERANCE
