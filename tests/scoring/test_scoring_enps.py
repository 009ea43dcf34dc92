"""eNPS: classify, enps and compare, as promised by scoring.enps."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import ENPSResult, classify, compare, enps, z_value

Z95 = 1.959963984540054

histograms = st.lists(st.integers(0, 60), min_size=11, max_size=11)
nonempty_histograms = histograms.filter(lambda h: sum(h) > 0)
confidences = st.one_of(st.just(0.95), st.floats(0.5, 0.999))


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0, "detractor"),
        (6, "detractor"),
        (7, "passive"),
        (8, "passive"),
        (9, "promoter"),
        (10, "promoter"),
    ],
)
def test_classify_maps_each_band_edge(score, expected):
    assert classify(score) == expected


@pytest.mark.parametrize("score", [-1, 11, 6.5, 7.0, True, False, None, "7", ""])
def test_classify_rejects_anything_but_an_int_from_0_to_10(score):
    with pytest.raises(ValueError, match="integer from 0 to 10"):
        classify(score)


def test_sauro_worked_example_gives_raw_score_and_adjusted_wald_interval():
    # Worked example of the adjusted-Wald NPS interval by Sauro & Lewis,
    # MeasuringU (https://measuringu.com/nps-confidence-intervals/), after
    # Rocks (2016), "Interval Estimation for the 'Net Promoter Score'", The
    # American Statistician 70(4), 365-372: 36 respondents, 15 promoters,
    # 13 passives, 8 detractors; NPS 19 %, 95 % interval -6 % to 42 %.
    # Every digit below is re-derived by hand from the published formula:
    #   raw   = 100 * (15 - 8) / 36                    = 19.444444...
    #   n'    = 39, p' = 15.75 / 39, d' = 8.75 / 39
    #   centre= 100 * 7 / 39                           = 17.948718...
    #   var   = (24.5/39 - 49/1521) / 39 = 906.5/59319 = 0.015281781...
    #   SE    = 100 * sqrt(906.5 / 59319)              = 12.361950313
    #   MoE   = 1.959963985 * 12.361950313             = 24.228977392
    #   CI    = 17.948717949 -/+ 24.228977392 = [-6.280259443, 42.177695341]
    result = enps({9: 10, 10: 5, 7: 6, 8: 7, 0: 1, 3: 2, 6: 5})
    assert (result.n, result.promoters, result.passives, result.detractors) == (
        36,
        15,
        13,
        8,
    )
    assert result.score == pytest.approx(19.444444444, abs=1e-6)
    assert result.adjusted_score == pytest.approx(17.948717949, abs=1e-6)
    assert result.standard_error == pytest.approx(12.361950313, abs=1e-6)
    assert result.margin_of_error == pytest.approx(24.228977392, abs=1e-6)
    assert result.ci_low == pytest.approx(-6.280259443, abs=1e-6)
    assert result.ci_high == pytest.approx(42.177695341, abs=1e-6)
    assert (round(result.ci_low), round(result.ci_high)) == (-6, 42)


def test_all_promoters_interval_is_clipped_at_100_but_margin_is_not():
    # n = 10, all 10s: raw 100; n' = 13, p' = 10.75/13, d' = 0.75/13;
    # centre = 1000/13 = 76.923076923; var = (11.5/13 - 100/169)/13
    # = 49.5/2197; SE = 15.010237744; MoE = 29.419525378;
    # upper 106.342602301 is clipped to 100; lower = 47.503551545.
    result = enps([0] * 10 + [10])
    assert result.score == 100.0
    assert result.ci_high == 100.0
    assert result.ci_low == pytest.approx(47.503551545, abs=1e-6)
    assert result.margin_of_error == pytest.approx(29.419525378, abs=1e-6)


def test_sequence_and_mapping_inputs_agree():
    counts = [1, 0, 2, 0, 0, 3, 1, 4, 2, 5, 6]
    assert enps(counts) == enps({i: c for i, c in enumerate(counts) if c})


def test_no_answers_give_no_numbers_rather_than_zero():
    result = enps([0] * 11)
    assert result.n == 0
    assert result.score is None
    assert result.ci_low is None
    assert result.ci_high is None
    assert result.margin_of_error is None
    assert result.standard_error is None


def test_one_answer_is_the_only_case_where_raw_score_leaves_the_interval():
    # With n = 1 the pseudo-counts outweigh the answer: 100 vs [-48.5, 98.5].
    result = enps({10: 1})
    assert result.score == 100.0
    assert result.ci_high == pytest.approx(98.498649420, abs=1e-6)


@pytest.mark.parametrize(
    "counts",
    [
        [0] * 10,
        [0] * 12,
        {11: 1},
        {-1: 1},
        {True: 1},
        {"7": 1},
        [0] * 10 + [-1],
        [0] * 10 + [True],
        [0] * 10 + [1.0],
    ],
)
def test_invalid_histograms_are_rejected(counts):
    with pytest.raises(ValueError):
        enps(counts)


@pytest.mark.parametrize("counts", [42, None, "0123456789a"])
def test_something_that_is_not_a_histogram_is_a_type_error(counts):
    with pytest.raises(TypeError):
        enps(counts)


@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.1, float("nan"), True, "0.95"])
def test_confidence_outside_0_1_is_rejected(confidence):
    with pytest.raises(ValueError, match="confidence"):
        enps([1] * 11, confidence=confidence)


def test_z_at_95_percent_is_1_959964():
    assert z_value(0.95) == pytest.approx(Z95, abs=1e-12)


@given(nonempty_histograms, confidences)
def test_bands_add_up_to_n(hist, confidence):
    result = enps(hist, confidence)
    assert result.promoters + result.passives + result.detractors == result.n
    assert result.n == sum(hist)


@given(nonempty_histograms, confidences)
def test_interval_stays_within_minus_100_and_100(hist, confidence):
    result = enps(hist, confidence)
    assert -100 <= result.ci_low <= result.ci_high <= 100
    assert -100 <= result.score <= 100


@given(nonempty_histograms, confidences)
def test_interval_contains_its_adjusted_centre(hist, confidence):
    result = enps(hist, confidence)
    assert result.ci_low <= result.adjusted_score <= result.ci_high


@given(histograms.filter(lambda h: sum(h) >= 2))
def test_raw_score_lies_in_the_95_interval_from_two_answers_on(hist):
    result = enps(hist)
    assert result.ci_low <= result.score <= result.ci_high


@given(nonempty_histograms, st.sampled_from([9, 10]))
def test_adding_a_promoter_never_lowers_the_score(hist, answer):
    more = list(hist)
    more[answer] += 1
    assert enps(more).score >= enps(hist).score


@given(nonempty_histograms, st.integers(0, 6))
def test_adding_a_detractor_never_raises_the_score(hist, answer):
    more = list(hist)
    more[answer] += 1
    assert enps(more).score <= enps(hist).score


def _result(promoters, passives, detractors):
    return enps({10: promoters, 8: passives, 3: detractors})


def test_compare_worked_example_is_within_noise():
    # a = Sauro's 15/13/8 (n 36): score 19.444444, centre 700/39 = 17.948717949,
    #   SE 12.361950313.
    # b = 25/10/5 (n 40): score 50; n' = 43, p' = 25.75/43, d' = 5.75/43;
    #   centre = 100 * 20/43 = 46.511627907;
    #   var = (31.5/43 - 400/1849)/43 = 954.5/79507; SE = 10.956839071.
    # delta (raw) = 50 - 19.444444444 = 30.555555556;
    # z (centres) = (46.511627907 - 17.948717949) / sqrt(12.361950313^2 +
    #   10.956839071^2) = 28.562909958 / 16.518781371 = 1.729117259;
    # p = 2 * (1 - Phi(1.729117259)) = 0.083788111 > 0.05: within noise.
    comparison = compare(_result(15, 13, 8), _result(25, 10, 5))
    assert comparison.delta == pytest.approx(30.555555556, abs=1e-6)
    assert comparison.z == pytest.approx(1.729117259, abs=1e-6)
    assert comparison.p_value == pytest.approx(0.083788111, abs=1e-6)
    assert comparison.significant is False


def test_delta_is_the_raw_change_not_the_change_of_the_centres():
    # The same worked example: the centres moved by 28.56 points, the raw
    # scores by 30.56, and delta is the raw one.
    a, b = _result(15, 13, 8), _result(25, 10, 5)
    comparison = compare(a, b)
    assert comparison.delta == b.score - a.score
    assert comparison.delta != pytest.approx(b.adjusted_score - a.adjusted_score, abs=1)


@given(nonempty_histograms, nonempty_histograms)
def test_delta_is_always_the_raw_score_difference(h1, h2):
    a, b = enps(h1), enps(h2)
    assert compare(a, b).delta == b.score - a.score


@st.composite
def two_groups_of_the_same_size(draw):
    n = draw(st.integers(1, 60))
    groups = []
    for _ in range(2):
        promoters = draw(st.integers(0, n))
        detractors = draw(st.integers(0, n - promoters))
        groups.append(_result(promoters, n - promoters - detractors, detractors))
    return groups


@given(two_groups_of_the_same_size())
def test_with_equal_n_z_has_the_sign_of_delta(groups):
    comparison = compare(*groups)
    assert (comparison.z > 0) == (comparison.delta > 0)
    assert (comparison.z < 0) == (comparison.delta < 0)


def test_with_unequal_n_z_tests_the_centres_even_against_the_raw_sign():
    # 5 promoters of 5: raw 100, centre 100 * 5 / 8 = 62.5. 95 promoters and
    # 5 detractors of 100: raw 90, centre 100 * 90 / 103 = 87.378640777.
    # The raw score fell by 10, the centres rose: z is positive, not significant.
    comparison = compare(_result(5, 0, 0), _result(95, 0, 5))
    assert comparison.delta == pytest.approx(-10.0)
    assert comparison.z > 0
    assert comparison.significant is False


def _outcomes(n, shares=(0.3, 0.4, 0.3)):
    """Every (promoters, passives, detractors) of n answers with its exact multinomial probability."""
    promoter, passive, detractor = shares
    outcomes = []
    for promoters in range(n + 1):
        for detractors in range(n - promoters + 1):
            passives = n - promoters - detractors
            probability = (
                math.comb(n, promoters)
                * math.comb(n - promoters, detractors)
                * promoter**promoters
                * passive**passives
                * detractor**detractors
            )
            outcomes.append((_result(promoters, passives, detractors), probability))
    return outcomes


@pytest.mark.parametrize("n", [5, 8, 15, 25, 40])
def test_exact_false_alarm_rate_is_close_to_5_percent(n):
    # Two independent groups of n answers from the same population (30 %
    # promoters, 40 % passives, 30 % detractors): every pair of outcomes,
    # weighted by its exact probability. compare() is symmetric in whether it
    # calls a pair significant and never calls a result against itself
    # significant, so each unordered pair is counted twice and the diagonal
    # skipped. Observed rates: 3.39 % (n 5), 4.18 % (8), 4.40 % (15),
    # 4.71 % (25), 4.95 % (40). The former test, raw scores over the same
    # standard errors, gave 16.44 %, 11.87 %, 8.89 %, 7.57 % and 6.68 %:
    # it failed this test for every n here.
    outcomes = _outcomes(n)
    assert len(outcomes) == (n + 1) * (n + 2) // 2
    assert math.fsum(probability for _, probability in outcomes) == pytest.approx(1.0, abs=1e-12)
    false_alarms = []
    for i, (a, probability_a) in enumerate(outcomes):
        for b, probability_b in outcomes[i + 1 :]:
            if compare(a, b).significant:
                false_alarms.append(2 * probability_a * probability_b)
    assert 0.02 <= math.fsum(false_alarms) <= 0.06


def test_compare_flags_a_large_change_as_significant():
    comparison = compare(_result(10, 20, 30), _result(40, 15, 5))
    assert comparison.delta == pytest.approx(100 * 35 / 60 + 100 * 20 / 60)
    assert comparison.p_value < 0.05
    assert comparison.significant is True


@given(nonempty_histograms, nonempty_histograms)
def test_swapping_the_sides_flips_the_sign_of_z_and_keeps_p(h1, h2):
    forward = compare(enps(h1), enps(h2))
    backward = compare(enps(h2), enps(h1))
    assert forward.z == pytest.approx(-backward.z, abs=1e-12)
    assert forward.p_value == pytest.approx(backward.p_value, abs=1e-12)
    assert forward.significant == backward.significant


@given(nonempty_histograms)
def test_identical_results_give_z_0_and_p_1(hist):
    result = enps(hist)
    comparison = compare(result, result)
    assert comparison.delta == 0
    assert comparison.z == 0
    assert comparison.p_value == 1.0
    assert comparison.significant is False


@pytest.mark.parametrize("sides", [(0, 5), (5, 0), (0, 0)])
def test_compare_with_an_empty_side_is_undefined_not_an_error(sides):
    a, b = (enps({10: n}) for n in sides)
    comparison = compare(a, b)
    assert (comparison.delta, comparison.z, comparison.p_value) == (None, None, None)
    assert comparison.significant is False


def test_compare_refuses_things_that_are_not_results():
    with pytest.raises(TypeError):
        compare(enps({10: 5}), 42)


@settings(max_examples=50)
@given(nonempty_histograms)
def test_results_are_frozen(hist):
    result = enps(hist)
    assert isinstance(result, ENPSResult)
    with pytest.raises(AttributeError):
        result.score = 0.0
    assert math.isfinite(result.standard_error)
