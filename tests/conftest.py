"""Fixtures shared by every test package."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

#: The lab secret every test runs under (keys derive from it and the seed: see ledger.keys), so
#: logs, golden hashes and addresses do not depend on the key file of whoever runs the suite.
#: Set in the environment, so the processes tests start inherit it.
TEST_LAB_SECRET = "ccei-test-lab-secret"
os.environ["CCEI_LAB_SECRET"] = TEST_LAB_SECRET

# A bounded profile for CI and everyday runs; `--hypothesis-profile=long` (or CCEI_HYPOTHESIS=long) for fuzzing.
settings.register_profile("default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=2_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("CCEI_HYPOTHESIS", "ci" if os.environ.get("CI") else "default"))
