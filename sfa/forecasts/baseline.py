"""The statistical baseline a rep's forecast is compared with: seasonal naive and additive
Holt-Winters on monthly sales, scored by a rolling-origin backtest. Pure logic, floats only:
this is statistics, not money.

A **series** is monthly sales amounts, oldest first, no gaps; zeros are allowed. ``m`` is the
season length (12 months).

Models
    *Seasonal naive* repeats the last observed season: the forecast for a month is the value
    of the same month one season earlier. It needs ``m`` values and is always available.

    *Holt-Winters* is the additive level + trend + seasonality method of Hyndman &
    Athanasopoulos, "Forecasting: Principles and Practice", with the classical initialisation
    of Hyndman et al. (2008, §2.6.1): the first season only sets the initial state, smoothing
    starts with the first month of the second season. It needs ``2 * m`` values. Parameters
    not given are chosen by a grid search on the in-sample one-step SSE followed by a few
    rounds of coordinate refinement (see ``ALPHA_GRID`` and ``REFINE_STEPS``); ties go to the
    first candidate in grid order, so a fit is deterministic. Its forecasts are *not* clipped:
    the method is linear and a caller may want the raw values; ``backtest`` and ``baseline``
    clip at zero because sales are never negative.

Scores (``Accuracy``) come from a rolling-origin backtest: for each origin ``o``, the model is
fitted on ``series[:o]`` and forecasts up to ``horizon`` months, scored against
``series[o:o + horizon]``. Both models are scored from the same origins, so they compare.

MASE (Hyndman & Koehler 2006, seasonal form): each error is divided by the *scale of its own
origin*, the in-sample mean absolute seasonal difference ``mean |y_t - y_{t-m}|`` over that
origin's training data (the one-step error seasonal naive would have made in-sample). MASE is
the mean of these scaled errors over every scored point; it is ``None`` when any origin's scale
is zero or undefined (no complete season to difference), rather than infinite.

**The MASE gate** (a product rule): a model is only shown when it beats seasonal naive. MASE
below 1 means better than seasonal naive was in-sample; Holt-Winters is therefore shown only
when its backtest MASE is defined, below 1, *and* below seasonal naive's own backtest MASE.
Otherwise, including every series too short to backtest Holt-Winters (``2 * m`` values or
fewer), the baseline is seasonal naive. A series with fewer than ``m + 1`` values has no
baseline at all: nothing could be scored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import product

SEASONAL_NAIVE = "seasonal_naive"
HOLT_WINTERS = "holt_winters"
MODELS = (SEASONAL_NAIVE, HOLT_WINTERS)

# 6 x 4 x 6 = 144 coarse fits. Trend moves slowly in monthly sales, hence the small betas.
ALPHA_GRID = (0.05, 0.15, 0.3, 0.5, 0.7, 0.9)
BETA_GRID = (0.0, 0.05, 0.1, 0.2)
GAMMA_GRID = (0.05, 0.15, 0.3, 0.5, 0.7, 0.9)
_GRIDS = (ALPHA_GRID, BETA_GRID, GAMMA_GRID)
# Each round tries every free parameter one step down and up, within [0, 1]: 18 more fits.
REFINE_STEPS = (0.04, 0.02, 0.01)


@dataclass(frozen=True)
class Accuracy:
    """How a model's backtest forecasts compare with what was sold. A ratio whose denominator
    is zero is ``None``, never an error: an all-zero month range is a fact, not a bug."""

    wape: float | None  # sum |e| / sum |actual|
    mase: float | None  # mean of |e| / scale of the point's origin (module docstring)
    bias: float | None  # sum (forecast - actual) / sum actual; positive = over-forecast
    tracking_signal: float | None  # sum (actual - forecast) / mean |actual - forecast|
    points: int  # forecast/actual pairs scored


@dataclass(frozen=True)
class HoltWintersFit:
    """The smoothed state after the last observation. ``seasonals[i]`` is the seasonal index
    of the ``(i + 1)``-th month after the last observation (``seasonals[0]`` is next month's),
    so ``forecast`` reads them in order and wraps after ``m`` months."""

    alpha: float
    beta: float
    gamma: float
    level: float
    trend: float
    seasonals: tuple[float, ...]
    sse: float  # in-sample one-step squared errors, from the second season on

    def forecast(self, horizon: int) -> list[float]:
        """``level + h * trend + seasonal`` for h = 1..horizon; not clipped at zero."""
        _check_horizon(horizon)
        m = len(self.seasonals)
        return [
            self.level + h * self.trend + self.seasonals[(h - 1) % m] for h in range(1, horizon + 1)
        ]


@dataclass(frozen=True)
class Backtest:
    model: str
    accuracy: Accuracy
    forecasts: list[tuple[int, int, float, float]]  # (origin, step, clipped forecast, actual)


@dataclass(frozen=True)
class Baseline:
    """The forecast to show next to the rep's, and the evidence for the choice."""

    chosen: str
    forecast: list[float]  # next ``horizon`` months from ``chosen`` fitted on it all, clipped
    candidates: dict[str, Backtest]  # the models that could be backtested
    holt_winters_shown: bool  # Holt-Winters passed the MASE gate


def accuracy(
    forecasts: Sequence[float], actuals: Sequence[float], scales: Sequence[float | None]
) -> Accuracy:
    """Score paired forecasts and actuals; ``scales[i]`` is the MASE scale for pair ``i``."""
    errors = [f - a for f, a in zip(forecasts, actuals, strict=True)]
    points = len(errors)
    absolute = sum(abs(e) for e in errors)
    total = sum(actuals)
    mad = absolute / points if points else 0.0
    return Accuracy(
        wape=_ratio(absolute, sum(abs(a) for a in actuals)),
        mase=_mase(errors, scales),
        bias=_ratio(sum(errors), total),
        tracking_signal=_ratio(-sum(errors), mad),
        points=points,
    )


def mase_scale(training: Sequence[float], m: int = 12) -> float | None:
    """Mean absolute seasonal difference of ``training``; ``None`` with no full season to
    difference. Zero for a series that repeats exactly: ``accuracy`` then leaves MASE undefined."""
    differences = [abs(training[t] - training[t - m]) for t in range(m, len(training))]
    return sum(differences) / len(differences) if differences else None


def tracking_flag(accuracy: Accuracy, limit: float = 4.0) -> bool:
    """True when the forecast errs persistently one way: |tracking signal| beyond ``limit``."""
    signal = accuracy.tracking_signal
    return signal is not None and abs(signal) > limit


def seasonal_naive(history: Sequence[float], horizon: int, m: int = 12) -> list[float]:
    """Each month's value one season earlier: ``history[-m + (h - 1) % m]`` for step ``h``."""
    series = _checked(history, m, minimum=m, model=SEASONAL_NAIVE)
    _check_horizon(horizon)
    return [series[-m + (h - 1) % m] for h in range(1, horizon + 1)]


def holt_winters(
    history: Sequence[float],
    m: int = 12,
    *,
    alpha: float | None = None,
    beta: float | None = None,
    gamma: float | None = None,
) -> HoltWintersFit:
    """Fit additive Holt-Winters; the parameters given are kept, the others searched."""
    series = _checked(history, m, minimum=2 * m, model=HOLT_WINTERS)
    fixed = (alpha, beta, gamma)
    for value in fixed:
        if value is not None and not 0.0 <= value <= 1.0:
            raise ValueError(f"smoothing parameters must lie in [0, 1], got {value}")
    params = _choose_parameters(series, m, fixed)
    level, trend, ring, sse = _smooth(series, m, *params)
    n = len(series)
    seasonals = tuple(ring[(n + i) % m] for i in range(m))
    return HoltWintersFit(*params, level=level, trend=trend, seasonals=seasonals, sse=sse)


def backtest(
    series: Sequence[float],
    model: str,
    *,
    m: int = 12,
    horizon: int = 3,
    min_train: int | None = None,
) -> Backtest:
    """Rolling-origin backtest from ``min_train`` (default ``2 * m``, the same for both models
    so they are comparable) to the last month; forecasts are clipped at zero."""
    forecaster = _forecaster(model, m)
    values = _checked(series, m, minimum=0, model=model)
    _check_horizon(horizon)
    start = 2 * m if min_train is None else min_train
    needed = _minimum_history(model, m)
    if start < needed:
        raise ValueError(f"{model} needs min_train of at least {needed}, got {start}")
    if len(values) <= start:
        raise ValueError(
            f"{model} backtest needs more than {start} monthly values to score one origin, "
            f"got {len(values)}"
        )
    rows: list[tuple[int, int, float, float]] = []
    scales: list[float | None] = []
    for origin in range(start, len(values)):
        training = values[:origin]
        steps = min(horizon, len(values) - origin)
        predicted = _clipped(forecaster(training, steps))
        rows += [(origin, h, predicted[h - 1], values[origin + h - 1]) for h in range(1, steps + 1)]
        scales += [mase_scale(training, m)] * steps
    scored = accuracy([row[2] for row in rows], [row[3] for row in rows], scales)
    return Backtest(model=model, accuracy=scored, forecasts=rows)


def baseline(series: Sequence[float], *, m: int = 12, horizon: int = 3) -> Baseline:
    """Backtest the models the series is long enough for, apply the MASE gate, and forecast
    the next ``horizon`` months with the model shown."""
    values = _checked(series, m, minimum=m + 1, model="baseline")
    if len(values) > 2 * m:
        candidates = {name: backtest(values, name, m=m, horizon=horizon) for name in MODELS}
    else:
        # Start where the first origin already has a MASE scale, unless that leaves nothing.
        start = m + 1 if len(values) > m + 1 else m
        naive = backtest(values, SEASONAL_NAIVE, m=m, horizon=horizon, min_train=start)
        candidates = {SEASONAL_NAIVE: naive}
    shown = _passes_gate(candidates)
    chosen = HOLT_WINTERS if shown else SEASONAL_NAIVE
    forecast = _clipped(_forecaster(chosen, m)(values, horizon))
    return Baseline(chosen, forecast, candidates, holt_winters_shown=shown)


def _passes_gate(candidates: dict[str, Backtest]) -> bool:
    if HOLT_WINTERS not in candidates:
        return False
    challenger = candidates[HOLT_WINTERS].accuracy.mase
    naive = candidates[SEASONAL_NAIVE].accuracy.mase
    return challenger is not None and naive is not None and challenger < min(1.0, naive)


def _choose_parameters(
    series: list[float], m: int, fixed: tuple[float | None, ...]
) -> tuple[float, float, float]:
    """Coarse grid, then coordinate refinement; only strict improvements move, so the first
    best candidate in grid order wins ties and the fit is deterministic."""
    grids = [grid if value is None else (value,) for value, grid in zip(fixed, _GRIDS, strict=True)]
    best = list(min(product(*grids), key=lambda params: _smooth(series, m, *params)[3]))
    best_sse = _smooth(series, m, *best)[3]
    free = [index for index, value in enumerate(fixed) if value is None]
    for step in REFINE_STEPS:
        for index in free:
            for delta in (-step, step):
                candidate = best.copy()
                candidate[index] = round(min(1.0, max(0.0, best[index] + delta)), 6)
                sse = _smooth(series, m, *candidate)[3]
                if sse < best_sse:
                    best, best_sse = candidate, sse
    return best[0], best[1], best[2]


def _smooth(
    series: list[float], m: int, alpha: float, beta: float, gamma: float
) -> tuple[float, float, list[float], float]:
    """Run the smoothing equations from the second season on. ``ring[t % m]`` holds the latest
    seasonal index of month ``t`` of the season, i.e. ``s_{t-m}`` when month ``t`` is reached."""
    level = sum(series[:m]) / m
    trend = (sum(series[m : 2 * m]) / m - level) / m
    ring = [value - level for value in series[:m]]
    sse = 0.0
    for t in range(m, len(series)):
        y = series[t]
        season = ring[t % m]
        prior = level + trend
        error = y - prior - season
        sse += error * error
        new_level = alpha * (y - season) + (1.0 - alpha) * prior
        trend = beta * (new_level - level) + (1.0 - beta) * trend
        ring[t % m] = gamma * (y - prior) + (1.0 - gamma) * season
        level = new_level
    return level, trend, ring, sse


def _forecaster(model: str, m: int) -> Callable[[list[float], int], list[float]]:
    if model == SEASONAL_NAIVE:
        return lambda history, horizon: seasonal_naive(history, horizon, m)
    if model == HOLT_WINTERS:
        return lambda history, horizon: holt_winters(history, m).forecast(horizon)
    raise ValueError(f"unknown model {model!r}; expected one of {', '.join(MODELS)}")


def _minimum_history(model: str, m: int) -> int:
    return 2 * m if model == HOLT_WINTERS else m


def _checked(series: Sequence[float], m: int, *, minimum: int, model: str) -> list[float]:
    if m < 1:
        raise ValueError(f"season length m must be at least 1, got {m}")
    values = [float(value) for value in series]
    if not all(math.isfinite(value) for value in values):
        raise ValueError("monthly sales must be finite numbers")
    if len(values) < minimum:
        raise ValueError(
            f"{model} needs at least {minimum} monthly values (m={m}), got {len(values)}"
        )
    return values


def _check_horizon(horizon: int) -> None:
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 month, got {horizon}")


def _clipped(forecast: list[float]) -> list[float]:
    return [max(0.0, value) for value in forecast]


def _mase(errors: list[float], scales: Sequence[float | None]) -> float | None:
    defined = [scale for scale in scales if scale]
    if not errors or len(defined) != len(errors):
        return None
    return sum(abs(e) / s for e, s in zip(errors, defined, strict=True)) / len(errors)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None
