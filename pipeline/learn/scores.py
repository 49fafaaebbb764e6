"""R², the score training runs are compared by (``repeat``) and the report's Table 1 used."""

from __future__ import annotations

import math

import numpy as np


def r2_score(truth: np.ndarray, prediction: np.ndarray) -> float:
    """1 − SS_res / SS_tot; NaN when every true value is the same (R² is undefined)."""
    residual = np.sum((truth - prediction) ** 2)
    total = np.sum((truth - truth.mean()) ** 2)
    return float(1.0 - residual / total) if total > 0 else math.nan
