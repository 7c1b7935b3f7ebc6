"""Settings for every test file.

Hypothesis runs without its explain phase. After a property test fails and its example is
shrunk, that phase runs the test hundreds of times more (traced line by line before Python
3.12) only to add "# or any other generated value" comments to the report: seconds per failing
test. In a student copy every test of a stubbed part fails on its NotImplementedError, and the
phase made `tinynet homework grade` take minutes instead of seconds. `pytest
--hypothesis-explain` turns it back on.

Two profiles, chosen with hypothesis's own option `pytest --hypothesis-profile=NAME`:

- "tinynet" (the default): what every run and CI use. A property test draws the count of
  examples its settings give (a few dozen; strategies.examples).
- "thorough": the same, with ten times as many examples per property test (max_examples
  1000 against hypothesis's default 100; strategies.examples scales every test's own count
  by that ratio) and no deadline. For hunting the rare draw that would fail CI some day,
  one file at a time, with a few seeds:
  `pytest --hypothesis-profile=thorough --hypothesis-seed=1 tests/test_layers.py`.
  The whole suite takes many times longer under it: not for every change.
"""

from hypothesis import Phase, settings

settings.register_profile("tinynet", parent=settings.default,
                          phases=[phase for phase in Phase if phase is not Phase.explain])
settings.register_profile("thorough", parent=settings.get_profile("tinynet"),
                          max_examples=1000, deadline=None)
settings.load_profile("tinynet")
