"""The temperature at which a model's output entropy matches a target (paper §4.5, Fig 17:
"we increase the temperature of the RLVR model until its output entropy approximately matches
E_base").

Bisection over T on [low, high], assuming the entropy rises with T (it does for the exact
entropy of softmax(logits / T) at fixed logits; measured on sampled responses it is noisy,
and bisection still ends, after at most the stated number of evaluations). The search stops
when an evaluated entropy is within `entropy_tolerance` of the target, or when the bracket is
narrower than `temperature_tolerance`; the answer is then the evaluated temperature whose
entropy came closest. Every evaluation is returned, so a reviewer sees the whole path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# The paper's temperatures are multiples of 0.05 and its entropies have two decimals.
TEMPERATURE_TOLERANCE = 0.05
ENTROPY_TOLERANCE = 0.01
LOW, HIGH = 0.6, 2.0  # the base's temperature, and above every temperature the paper used (1.5)

MATCHED, BRACKETED, AT_LOW, NOT_REACHED = "matched", "bracketed", "already at or above the target at the low end", \
    "not reached at the high end"


@dataclass(frozen=True)
class TemperatureMatch:
    target: float
    temperature: float  # the chosen one
    entropy: float  # its measured entropy
    status: str
    evaluations: tuple[tuple[float, float], ...]  # (temperature, entropy), in the order evaluated

    def describe(self) -> str:
        path = ", ".join(f"T={t:.4g}: {e:.4f}" for t, e in self.evaluations)
        return (f"target {self.target:.4f}; chose T = {self.temperature:.4g} (entropy {self.entropy:.4f}, "
                f"{self.status}); evaluated {path}")


def match_temperature(entropy_at: Callable[[float], float], target: float, low: float = LOW, high: float = HIGH,
                      entropy_tolerance: float = ENTROPY_TOLERANCE,
                      temperature_tolerance: float = TEMPERATURE_TOLERANCE) -> TemperatureMatch:
    if not 0 < low < high:
        raise ValueError(f"need 0 < low < high, not {low}, {high}")
    evaluations: list[tuple[float, float]] = []

    def evaluate(temperature: float) -> float:
        entropy = float(entropy_at(temperature))
        evaluations.append((temperature, entropy))
        return entropy

    def closest(status: str) -> TemperatureMatch:
        temperature, entropy = min(evaluations, key=lambda pair: abs(pair[1] - target))
        return TemperatureMatch(target, temperature, entropy, status, tuple(evaluations))

    at_low = evaluate(low)
    if abs(at_low - target) <= entropy_tolerance:
        return closest(MATCHED)
    if at_low > target:
        return TemperatureMatch(target, low, at_low, AT_LOW, tuple(evaluations))
    at_high = evaluate(high)
    if abs(at_high - target) <= entropy_tolerance:
        return closest(MATCHED)
    if at_high < target:
        return TemperatureMatch(target, high, at_high, NOT_REACHED, tuple(evaluations))
    while high - low > temperature_tolerance:
        middle = (low + high) / 2
        entropy = evaluate(middle)
        if abs(entropy - target) <= entropy_tolerance:
            return closest(MATCHED)
        low, high = (middle, high) if entropy < target else (low, middle)
    return closest(BRACKETED)
