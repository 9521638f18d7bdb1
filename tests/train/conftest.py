"""Fixtures for trainer tests: the tiny stand-in model and objective, registered per test."""

from __future__ import annotations

from collections.abc import Iterator

import _tiny
import pytest
import torch


@pytest.fixture
def tiny() -> Iterator[object]:
    """Register the stand-in model and objective for one test; yields the helper module."""
    threads = torch.get_num_threads()
    _tiny.register()
    yield _tiny
    _tiny.unregister()
    torch.set_num_threads(threads)  # recipes set train.threads
