"""Fixtures shared by every test package."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# A bounded profile for CI and everyday runs; `--hypothesis-profile=long` (or CCEI_HYPOTHESIS=long) for fuzzing.
settings.register_profile("default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=2_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("CCEI_HYPOTHESIS", "ci" if os.environ.get("CI") else "default"))
