"""Hypothesis profiles for the test suite.

- ``default``: no per-example deadline (the engines' first call can be slow under load).
- ``ci``: fewer examples and derandomized, for a fast, reproducible run:
  ``HYPOTHESIS_PROFILE=ci pytest``.
- ``thorough``: ten times the default number of examples, for hunting rare failures.

Tests that want more or fewer examples than the default ask for ``tinygrad_trade.testing.strategies.budget(n)``, which
scales with the active profile.
"""
import os

from hypothesis import settings

settings.register_profile("default", deadline=None)
settings.register_profile("ci", deadline=None, max_examples=25, derandomize=True, print_blob=True)
settings.register_profile("thorough", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
