"""Reports on a finished sweep: statistics across seeds, tests between treatments, figures.

``build_report(DIR)`` reads ``DIR/sweep.json``, ``DIR/runs.parquet`` and ``DIR/steps.parquet``
and writes into ``DIR/report/``: ``report.html`` and ``report.md`` (the same content), one PNG per
figure (:mod:`experiments.reporting.plots`), ``treatment_stats.csv`` (per treatment and metric: n,
mean, standard deviation and 95 % confidence bounds) and ``tests.csv`` (every comparison; see
:mod:`experiments.reporting.stats` for the tests used and why).
"""

from __future__ import annotations

from experiments.reporting.build import Report, ReportError, build_report, default_metrics

__all__ = ["Report", "ReportError", "build_report", "default_metrics"]
