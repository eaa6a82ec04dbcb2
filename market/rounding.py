"""Turning float money into integer micro-tokens without creating or destroying any.

Mechanisms compute payments as real numbers (a bargaining split, an SDR price times energy); the
ledger moves whole micro-tokens. Rounding each payment on its own breaks budget balance by up to
half a unit per party, so this module rounds a whole vector at once with the largest-remainder
(Hamilton) method: every value moves by less than one unit and the integers sum exactly to the
target.

References:
    M. L. Balinski and H. P. Young, *Fair Representation: Meeting the Ideal of One Man, One Vote*,
    Yale University Press, 1982 (Hamilton's method of largest remainders, ch. 2 and appendix A).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from market.errors import MechanismError

__all__ = ["round_preserving_sum"]


def round_preserving_sum(values: Sequence[float], total: int | None = None) -> list[int]:
    """Rounds ``values`` to integers that sum exactly to ``total``, each moving by less than one.

    Every value is first rounded down; the units still missing go to the values with the largest
    fractional remainders (ties to the lower index, so the result is deterministic).

    Args:
        values: Real amounts, e.g. payments in micro-tokens (may be negative).
        total: The integer the result must sum to; ``round(sum(values))`` when omitted. It must lie
            between the sum of the values rounded down and that sum plus the number of values with
            a fractional part, so that no value moves a whole unit.

    Returns:
        Integers, one per value, with ``sum(result) == total`` and ``abs(result[i] - values[i]) < 1``.

    Raises:
        MechanismError: a value is not finite, or ``total`` is too far from ``sum(values)``.
    """
    if not all(math.isfinite(v) for v in values):
        raise MechanismError("round_preserving_sum: every value must be finite")
    floors = [math.floor(v) for v in values]
    target = round(math.fsum(values)) if total is None else int(total)
    missing = target - sum(floors)
    if not 0 <= missing <= sum(v != f for v, f in zip(values, floors, strict=True)):
        raise MechanismError(
            f"round_preserving_sum: total {target} is not reachable from values summing to {math.fsum(values):.6g}"
        )
    by_remainder = sorted(range(len(values)), key=lambda i: (-(values[i] - floors[i]), i))
    for i in by_remainder[:missing]:
        floors[i] += 1
    return floors
