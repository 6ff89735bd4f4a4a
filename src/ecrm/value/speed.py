"""Time the BG/NBD fit on a synthetic summary, and ``lifetimes`` on the same data if present.

``python -m ecrm.value.speed --customers 1000000 [--lifetimes]`` samples a CDNOW-like
cohort from the published BG/NBD parameters (first purchases spread over 12 weeks, ages
and recencies in whole days, expressed in weeks), fits it from lifetimes' own starting
point, and prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from ecrm.value import rules

CDNOW_BGNBD = (0.243, 4.414, 0.793, 2.426)


def synthetic_summary(customers: int, seed: int = 20050101):
    """(x, t_x, T) for ``customers`` sampled from BG/NBD with the CDNOW parameters."""
    rng = np.random.default_rng(seed)
    first_day = rng.integers(0, 84, size=customers)
    T = (273 - first_day) / 7.0
    x, t_x = rules.sample_bgnbd(CDNOW_BGNBD, T, rng)
    return x, t_x, T


def lifetimes_start(T) -> tuple[np.ndarray, float]:
    """lifetimes starts at log-parameters 0.1 on time scaled by 10 / max(T)."""
    scale = 10.0 / float(np.max(T))
    start = np.exp(0.1) * np.ones(4)
    start[1] /= scale
    return start, scale


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20050101)
    parser.add_argument("--repeat", type=int, default=3, help="runs of our fit (best is kept)")
    parser.add_argument("--lifetimes", action="store_true", help="also time lifetimes")
    args = parser.parse_args(argv)

    x, t_x, T = synthetic_summary(args.customers, args.seed)
    start, _ = lifetimes_start(T)
    runs = [rules.fit_bgnbd(x, t_x, T, start=start) for _ in range(args.repeat)]
    ours = min(runs, key=lambda f: f.seconds)
    report = {
        "customers": args.customers,
        "seed": args.seed,
        "distinct_rows": ours.groups,
        "repeat_buyers": int((x > 0).sum()),
        "ours": {
            "seconds": [round(f.seconds, 3) for f in runs],
            "params": {k: round(v, 4) for k, v in ours.params.items()},
            "log_likelihood": round(ours.log_likelihood, 2),
        },
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    if args.lifetimes:
        import lifetimes
        import pandas as pd

        began = time.perf_counter()
        model = lifetimes.BetaGeoFitter().fit(
            pd.Series(x), pd.Series(t_x), pd.Series(T), initial_params=0.1 * np.ones(4)
        )
        seconds = time.perf_counter() - began
        params = dict(zip(rules.BGNBD_PARAMS, map(float, model.params_.values), strict=True))
        report["lifetimes"] = {
            "version": lifetimes.__version__,
            "seconds": round(seconds, 3),
            "params": {k: round(v, 4) for k, v in params.items()},
            "log_likelihood": round(
                rules.bgnbd_log_likelihood(list(params.values()), x, t_x, T), 2
            ),
        }
        report["ratio"] = round(seconds / ours.seconds, 1)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
