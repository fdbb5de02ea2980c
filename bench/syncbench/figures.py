"""A measured figure against its target, and the table they are printed in."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    target: float
    at_most: bool  # True: the value must not exceed the target; False: must reach it
    digits: int = 2

    @property
    def met(self) -> bool:
        return self.value <= self.target if self.at_most else self.value >= self.target

    def row(self) -> str:
        sign = "<=" if self.at_most else ">="
        value = f"{self.value:,.{self.digits}f} {self.unit}"
        target = f"{sign} {self.target:,.{self.digits}f} {self.unit}"
        return f"{self.name:<44} {value:>22}  {target:>24}  {'met' if self.met else 'MISSED'}"


def print_table(figures: list[Figure]) -> None:
    print()
    print(f"{'figure':<44} {'measured':>22}  {'target':>24}  result")
    print("-" * 104)
    for figure in figures:
        print(figure.row())


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (not empty)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
