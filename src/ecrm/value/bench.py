"""``ecrm bench --only value``: the three customer-value runs over every customer.

Each run is timed end to end as the nightly job and ``ecrm value rfm|score|profit`` run
it (read, compute, replace the table, commit), ``RUNS`` times; the median is the figure,
with the CPU time of this process and the run's own step timings in the detail (on a
shared machine the wall time also holds waiting for the disk and the other processes).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ecrm.bench.rules import Figure, median

TITLE = "Customer value: RFM, predicted value, profit"
TARGETS = (
    ("value_rfm", "RFM scores of all customers (`ecrm value rfm`)", "s", "<=", 5),
    ("value_score", "BG/NBD + Gamma-Gamma fit and scoring of all customers (`ecrm value score`)",
     "s", "<=", 10),
    ("value_profit", "Value and cost of all customers (`ecrm value profit`)", "s", "<=", 60),
)  # fmt: skip
RUNS = 3


def _timed(run: Callable[[], object], runs: int) -> tuple[list[float], list[float], object]:
    walls, cpus, last = [], [], None
    for _ in range(runs):
        started, used = time.perf_counter(), time.process_time()
        last = run()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - used)
    return walls, cpus, last


def measure(options, say: Callable[[str], None]) -> list[Figure]:
    from ecrm.value import services

    runs = max(1, int(getattr(options, "runs", RUNS) or RUNS))
    figures = []

    say(f"value: 1/3 RFM of every customer, {runs} runs …")
    walls, cpus, run = _timed(lambda: services.compute_rfm(**services.rfm_settings()), runs)
    figures.append(
        Figure(
            "value_rfm",
            median(walls),
            median=median(walls),
            detail=f"{run.customers:,} customers scored; median of {runs} runs "
            f"{', '.join(f'{w:.1f}' for w in walls)} s; CPU {median(cpus):.1f} s",
            command="ecrm value rfm",
        )
    )

    say(f"value: 2/3 fit and score every customer, {runs} runs …")
    walls, cpus, run = _timed(lambda: services.score_customers(pareto_sample=0), runs)
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in run.timings.items())
    figures.append(
        Figure(
            "value_score",
            median(walls),
            median=median(walls),
            detail=f"{run.customers:,} buyers, models fitted on "
            f"{run.fits['bgnbd']['customers']:,}; last run: {steps}; median of {runs} runs "
            f"{', '.join(f'{w:.1f}' for w in walls)} s; CPU {median(cpus):.1f} s",
            command="ecrm value score",
        )
    )

    say(f"value: 3/3 value and cost of every customer, {runs} runs …")
    walls, cpus, run = _timed(lambda: services.compute_profit(), runs)
    figures.append(
        Figure(
            "value_profit",
            median(walls),
            median=median(walls),
            detail=f"{run.customers:,} customers; median of {runs} runs "
            f"{', '.join(f'{w:.1f}' for w in walls)} s; CPU {median(cpus):.1f} s",
            command="ecrm value profit",
        )
    )
    return figures
