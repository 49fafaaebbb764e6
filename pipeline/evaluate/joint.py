"""Is the joint predictive distribution calibrated? TARP's expected coverage (Lemos et al.
2023, the test sbi ships beside SBC).

Coverage per parameter can hold while the joint answer does not (a model right about m
and q separately, wrong about which pairs go together). For each sample, draw from its
predictive distribution, pick a random reference point in the prior box, and ask which
fraction f of the draws lies closer to the reference than the truth does. For a
calibrated predictor f is uniform: the expected coverage ECP(α) = P(f < α) equals α at
every credible level. Distances are measured in units of each prior's width, so that no
parameter dominates by its units. Seeded: the same predictions give the same numbers.
"""

from __future__ import annotations

import numpy as np

LEVELS = tuple(np.round(np.arange(0.05, 1.0, 0.05), 2))
DRAWS = 256
SEED = 0


def expected_coverage(truth: np.ndarray, center: np.ndarray, sigma: np.ndarray,
                      bounds: list[tuple[float, float]], seed: int = SEED) -> dict:
    """TARP on Gaussian predictive distributions: ``truth``, ``center``, ``sigma`` of shape
    (n, P), ``bounds`` the P priors' (low, high). Returns the levels, the expected coverage
    at each and the largest gap |ECP(α) − α|."""
    rng = np.random.default_rng(seed)
    low = np.array([b[0] for b in bounds])
    width = np.array([b[1] - b[0] for b in bounds])
    n, p = truth.shape
    draws = (center[:, None] + sigma[:, None] * rng.standard_normal((n, DRAWS, p)) - low) / width
    reference = rng.uniform(0.0, 1.0, (n, p))
    truth = (truth - low) / width
    to_draws = np.linalg.norm(draws - reference[:, None], axis=-1)
    to_truth = np.linalg.norm(truth - reference, axis=-1)
    credibility = np.mean(to_draws < to_truth[:, None], axis=1)
    coverage = [float(np.mean(credibility < level)) for level in LEVELS]
    return {"levels": [float(level) for level in LEVELS], "expected_coverage": coverage,
            "max_gap": float(np.max(np.abs(np.array(coverage) - np.array(LEVELS))))}
