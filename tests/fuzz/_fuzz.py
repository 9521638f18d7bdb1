"""Hypothesis settings of the fuzz suite: a fast, seeded profile by default (CI), a long
random one on demand with ``LOWLIGHT_FUZZ=long`` (see tests/fuzz/README.md)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

LONG = os.environ.get("LOWLIGHT_FUZZ", "").strip().lower() == "long"


def fuzz(fast: int, long: int = 0) -> settings:
    """Settings for one property: ``fast`` examples, derandomized (the same inputs every run,
    no example database), or ``long`` (default 50x ``fast``) random examples under
    ``LOWLIGHT_FUZZ=long``."""
    return settings(
        max_examples=(long or 50 * fast) if LONG else fast,
        derandomize=not LONG,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large,
        ],
    )
