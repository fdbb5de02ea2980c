"""The statistical sales baseline: hand-computed models and metrics, the MASE gate that decides
whether Holt-Winters is shown, the edges of short and all-zero histories, and properties that
hold for any monthly series."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfa.forecasts.baseline import (
    HOLT_WINTERS,
    SEASONAL_NAIVE,
    Accuracy,
    accuracy,
    backtest,
    baseline,
    holt_winters,
    mase_scale,
    seasonal_naive,
    tracking_flag,
)


def a_trending_seasonal_series(months: int, *, noise: float = 3.0, seed: int = 7) -> list[float]:
    """Monthly sales growing 5 a month around a yearly cycle of amplitude 30."""
    rng = random.Random(seed)
    return [
        100 + 5 * t + 30 * math.sin(2 * math.pi * t / 12) + rng.gauss(0, noise)
        for t in range(months)
    ]


def a_year() -> list[float]:
    return [80, 95, 120, 110, 100, 90, 70, 60, 85, 105, 130, 150]


def an_accuracy(tracking_signal: float | None) -> Accuracy:
    return Accuracy(wape=0.1, mase=0.5, bias=0.0, tracking_signal=tracking_signal, points=12)


# seasonal naive ---------------------------------------------------------------------------


def test_seasonal_naive_repeats_the_last_season_and_wraps_after_it():
    history = [5, 1, 2, 3, 4, 6, 7, 8, 9]  # last season (m=4): 6, 7, 8, 9
    assert seasonal_naive(history, 6, m=4) == [6, 7, 8, 9, 6, 7]


def test_seasonal_naive_needs_a_full_season():
    with pytest.raises(ValueError, match="seasonal_naive needs at least 4 monthly values"):
        seasonal_naive([1, 2, 3], 1, m=4)


# Holt-Winters ------------------------------------------------------------------------------


def test_holt_winters_with_fixed_parameters_matches_a_hand_computation():
    history = [10, 20, 30, 20, 14, 24, 34, 24, 18, 28]
    # m = 4, alpha = beta = gamma = 0.5. Initial state from the first two seasons:
    #   level0 = (10+20+30+20)/4 = 20;  trend0 = ((14+24+34+24)/4 - 20)/4 = (24-20)/4 = 1
    #   seasonal0 = (10-20, 20-20, 30-20, 20-20) = (-10, 0, 10, 0)
    # Each month t: prior = l + b;  error = y - prior - s_{t-4};
    #   l_t = .5*(y - s_{t-4}) + .5*prior;  b_t = .5*(l_t - l) + .5*b;
    #   s_t = .5*(y - prior) + .5*s_{t-4}
    # t  y  s_{t-4}  prior          error         l_t             b_t             s_t
    # 4  14 -10      21             3             12+10.5         1.25+.5         -3.5-5
    #                                             = 22.5          = 1.75          = -8.5
    # 5  24 0        24.25          -0.25         12+12.125       .8125+.875      -.125+0
    #                                             = 24.125        = 1.6875        = -0.125
    # 6  34 10       25.8125        -1.8125       12+12.90625     .390625+.84375  4.09375+5
    #                                             = 24.90625      = 1.234375      = 9.09375
    # 7  24 0        26.140625      -2.140625     12+13.0703125   .08203125       -1.0703125+0
    #                                             = 25.0703125    +.6171875       = -1.0703125
    #                                                             = 0.69921875
    # 8  18 -8.5     25.76953125    0.73046875    13.25           .5322265625     -3.884765625
    #                                             +12.884765625   +.349609375     -4.25
    #                                             = 26.134765625  = 0.8818359375  = -8.134765625
    # 9  28 -0.125   27.0166015625  1.1083984375  14.0625         .718017578125   .49169921875
    #                                             +13.50830078125 +.44091796875   -.0625
    #                                             = 27.57080078125                = 0.42919921875
    #                                                             = 1.158935546875
    # Month 10 (next) uses s_6, then s_7, s_8, s_9:
    #   seasonals = (9.09375, -1.0703125, -8.134765625, 0.42919921875)
    # yhat(h) = 27.57080078125 + h * 1.158935546875 + seasonals[(h-1) % 4]:
    #   h=1: 27.57080078125 + 1.158935546875 + 9.09375      = 37.823486328125
    #   h=2: 27.57080078125 + 2.31787109375  - 1.0703125    = 28.818359375
    #   h=3: 27.57080078125 + 3.476806640625 - 8.134765625  = 22.912841796875
    #   h=4: 27.57080078125 + 4.6357421875   + 0.42919921875 = 32.6357421875
    #   h=5: 27.57080078125 + 5.794677734375 + 9.09375      = 42.459228515625
    # SSE = 3^2 + 0.25^2 + 1.8125^2 + 2.140625^2 + 0.73046875^2 + 1.1083984375^2
    #     = 9 + 0.0625 + 3.28515625 + 4.582275390625 + 0.5335845947265625 + 1.2285470962524414
    fit = holt_winters(history, 4, alpha=0.5, beta=0.5, gamma=0.5)

    assert fit.level == pytest.approx(27.57080078125, abs=1e-9)
    assert fit.trend == pytest.approx(1.158935546875, abs=1e-9)
    expected_seasonals = [9.09375, -1.0703125, -8.134765625, 0.42919921875]
    assert list(fit.seasonals) == pytest.approx(expected_seasonals, abs=1e-9)
    expected_forecast = [
        37.823486328125,
        28.818359375,
        22.912841796875,
        32.6357421875,
        42.459228515625,
    ]
    assert fit.forecast(5) == pytest.approx(expected_forecast, abs=1e-9)
    assert fit.sse == pytest.approx(18.692063331604004, abs=1e-9)


def test_holt_winters_keeps_the_parameters_given_and_searches_the_others():
    series = a_trending_seasonal_series(36)
    fit = holt_winters(series, alpha=0.3)
    assert fit.alpha == 0.3
    assert 0.0 <= fit.beta <= 1.0 and 0.0 <= fit.gamma <= 1.0
    assert holt_winters(series, alpha=0.3) == fit


def test_searched_parameters_fit_no_worse_than_any_grid_corner():
    series = a_trending_seasonal_series(36)
    searched = holt_winters(series)
    for alpha, beta, gamma in [(0.05, 0.0, 0.05), (0.5, 0.1, 0.5), (0.9, 0.2, 0.9)]:
        assert searched.sse <= holt_winters(series, alpha=alpha, beta=beta, gamma=gamma).sse


def test_holt_winters_forecasts_are_not_clipped_but_the_baseline_is():
    falling = [40, 30, 20, 10, 30, 20, 10, 0, 20, 10]
    raw = holt_winters(falling, 4).forecast(3)
    assert min(raw) < 0

    shown = baseline(falling, m=4, horizon=3)
    assert shown.chosen == HOLT_WINTERS
    assert shown.forecast == [max(0.0, value) for value in raw]


def test_holt_winters_needs_two_full_seasons():
    with pytest.raises(ValueError, match="holt_winters needs at least 24 monthly values"):
        holt_winters(a_year() + a_year()[:11])


@pytest.mark.parametrize("parameter", ["alpha", "beta", "gamma"])
def test_smoothing_parameters_outside_zero_to_one_are_refused(parameter):
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        holt_winters(a_year() * 2, **{parameter: 1.5})


# metrics ----------------------------------------------------------------------------------


def test_metrics_on_a_hand_example():
    # actual   forecast  f - a  |e|  scale  |e|/scale
    #   10       12       +2     2     2      1
    #   20       18       -2     2     2      1
    #   30       33       +3     3     4      0.75
    #   40       40        0     0     4      0
    # sum|e| = 7, sum|a| = 100, sum(f - a) = 3, MAD = 7/4 = 1.75
    scored = accuracy([12, 18, 33, 40], [10, 20, 30, 40], [2, 2, 4, 4])

    assert scored.wape == pytest.approx(0.07)  # 7 / 100
    assert scored.mase == pytest.approx(0.6875)  # (1 + 1 + 0.75 + 0) / 4
    assert scored.bias == pytest.approx(0.03)  # 3 / 100
    assert scored.tracking_signal == pytest.approx(-3 / 1.75)  # sum(a - f) = -3
    assert scored.points == 4


def test_mase_scale_is_the_mean_absolute_seasonal_difference():
    # |5-1|, |2-2|, |1-3|, |4-4|, |9-5| = 4, 0, 2, 0, 4 -> 10 / 5
    assert mase_scale([1, 2, 3, 4, 5, 2, 1, 4, 9], m=4) == pytest.approx(2.0)
    assert mase_scale([1, 2, 3, 4], m=4) is None


def test_backtest_scales_each_origin_by_its_own_training_data():
    series = [1, 2, 3, 4, 2, 3, 4, 5, 4, 5]
    # origin 8: train 1 2 3 4 2 3 4 5, scale = mean(1, 1, 1, 1) = 1
    #   forecasts 2, 3 against 4, 5: errors 2, 2 -> scaled 2, 2
    # origin 9: train adds 4, scale = (1 + 1 + 1 + 1 + |4-2|) / 5 = 1.2
    #   forecast 3 against 5: error 2 -> scaled 2 / 1.2
    result = backtest(series, SEASONAL_NAIVE, m=4, horizon=2, min_train=8)

    assert result.forecasts == [(8, 1, 2.0, 4.0), (8, 2, 3.0, 5.0), (9, 1, 3.0, 5.0)]
    assert result.accuracy.mase == pytest.approx((2 + 2 + 2 / 1.2) / 3)
    assert result.accuracy.wape == pytest.approx(6 / 14)


# the MASE gate ----------------------------------------------------------------------------


def test_holt_winters_is_shown_when_it_beats_seasonal_naive_on_a_trending_seasonal_series():
    series = a_trending_seasonal_series(48)
    result = baseline(series)

    hw = result.candidates[HOLT_WINTERS].accuracy.mase
    naive = result.candidates[SEASONAL_NAIVE].accuracy.mase
    assert hw is not None and naive is not None
    assert hw < 1 and hw < naive
    assert result.holt_winters_shown and result.chosen == HOLT_WINTERS
    expected = [max(0.0, value) for value in holt_winters(series).forecast(3)]
    assert result.forecast == pytest.approx(expected)


def test_both_models_are_scored_from_the_same_origins():
    result = baseline(a_trending_seasonal_series(40))
    naive, hw = (result.candidates[name].forecasts for name in (SEASONAL_NAIVE, HOLT_WINTERS))
    assert [row[:2] for row in naive] == [row[:2] for row in hw]


def test_exactly_repeating_seasonality_leaves_mase_undefined_and_falls_back_to_naive():
    series = a_year() * 3
    result = baseline(series)

    assert result.candidates[SEASONAL_NAIVE].accuracy.mase is None
    assert result.candidates[HOLT_WINTERS].accuracy.mase is None
    assert not result.holt_winters_shown and result.chosen == SEASONAL_NAIVE
    assert result.forecast == a_year()[:3]


def test_holt_winters_is_not_shown_when_seasonal_naive_is_perfect_out_of_sample():
    first_year = [value + 40 for value in a_year()]  # then the pattern settles and repeats
    result = baseline(first_year + a_year() * 3)

    assert result.candidates[SEASONAL_NAIVE].accuracy.mase == 0.0
    assert result.candidates[HOLT_WINTERS].accuracy.mase > 0.0
    assert result.chosen == SEASONAL_NAIVE and not result.holt_winters_shown


def test_a_history_shorter_than_two_seasons_only_gets_seasonal_naive():
    result = baseline(a_trending_seasonal_series(20))

    assert set(result.candidates) == {SEASONAL_NAIVE}
    assert result.candidates[SEASONAL_NAIVE].forecasts[0][0] == 13  # first origin with a scale
    assert result.chosen == SEASONAL_NAIVE and not result.holt_winters_shown


def test_exactly_two_seasons_cannot_backtest_holt_winters():
    assert set(baseline(a_year() * 2).candidates) == {SEASONAL_NAIVE}


# tracking signal ----------------------------------------------------------------------------


def test_a_forecast_that_always_trails_growth_is_flagged():
    result = backtest(a_trending_seasonal_series(36, noise=0.0), SEASONAL_NAIVE)
    # Every naive forecast is one year of growth (60) short: all errors share a sign, so the
    # tracking signal is the number of points.
    assert result.accuracy.tracking_signal == pytest.approx(result.accuracy.points)
    assert tracking_flag(result.accuracy)


@pytest.mark.parametrize(
    ("signal", "flagged"),
    [(4.0, False), (4.01, True), (-4.0, False), (-5.0, True), (0.0, False), (None, False)],
)
def test_tracking_signal_is_flagged_only_beyond_the_limit(signal, flagged):
    assert tracking_flag(an_accuracy(signal)) is flagged


# edges --------------------------------------------------------------------------------------


def test_baseline_needs_one_month_more_than_a_season():
    with pytest.raises(ValueError, match="baseline needs at least 13 monthly values"):
        baseline(a_year())


@pytest.mark.parametrize("model", [SEASONAL_NAIVE, HOLT_WINTERS])
def test_a_backtest_with_no_origin_to_score_is_refused(model):
    with pytest.raises(ValueError, match="needs more than 24 monthly values to score one origin"):
        backtest(a_year() * 2, model)


def test_a_backtest_cannot_start_before_the_model_can_be_fitted():
    with pytest.raises(ValueError, match="holt_winters needs min_train of at least 24"):
        backtest(a_year() * 3, HOLT_WINTERS, min_train=12)


def test_an_unknown_model_is_refused():
    with pytest.raises(ValueError, match="unknown model 'arima'"):
        backtest(a_year() * 3, "arima")


def test_non_finite_sales_are_refused():
    with pytest.raises(ValueError, match="finite"):
        baseline([*a_year(), math.nan, 1.0])


def test_an_all_zero_history_gives_undefined_metrics_and_a_zero_forecast():
    result = baseline([0.0] * 36)

    for candidate in result.candidates.values():
        scored = candidate.accuracy
        assert (scored.wape, scored.mase, scored.bias, scored.tracking_signal) == (None,) * 4
        assert scored.points == 33
    assert result.chosen == SEASONAL_NAIVE
    assert result.forecast == [0.0, 0.0, 0.0]


def test_a_history_with_empty_months_is_forecast():
    series = [value if index % 5 else 0.0 for index, value in enumerate(a_year() * 3)]
    result = baseline(series, horizon=6)

    assert len(result.forecast) == 6
    assert all(math.isfinite(value) and value >= 0 for value in result.forecast)
    assert result.candidates[SEASONAL_NAIVE].accuracy.wape is not None


# properties -------------------------------------------------------------------------------

monthly_sales = st.one_of(
    st.just(0.0), st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
)


@settings(max_examples=40, deadline=None)
@given(
    series=st.lists(monthly_sales, min_size=9, max_size=20),
    model=st.sampled_from([SEASONAL_NAIVE, HOLT_WINTERS]),
    horizon=st.integers(min_value=1, max_value=6),
    min_train=st.integers(min_value=8, max_value=12),
)
def test_backtests_score_every_origin_and_step_with_finite_non_negative_forecasts(
    series, model, horizon, min_train
):
    if len(series) <= min_train:
        min_train = len(series) - 1
    result = backtest(series, model, m=4, horizon=horizon, min_train=min_train)

    expected_pairs = [
        (origin, step)
        for origin in range(min_train, len(series))
        for step in range(1, min(horizon, len(series) - origin) + 1)
    ]
    assert [row[:2] for row in result.forecasts] == expected_pairs
    assert result.accuracy.points == len(expected_pairs)
    assert all(math.isfinite(row[2]) and row[2] >= 0 for row in result.forecasts)


@settings(max_examples=40, deadline=None)
@given(series=st.lists(monthly_sales, min_size=5, max_size=20))
def test_the_baseline_forecast_is_finite_and_never_negative(series):
    result = baseline(series, m=4, horizon=5)

    assert len(result.forecast) == 5
    assert all(math.isfinite(value) and value >= 0 for value in result.forecast)
    assert result.holt_winters_shown == (result.chosen == HOLT_WINTERS)
