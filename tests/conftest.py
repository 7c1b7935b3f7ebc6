"""Settings for every test file.

Hypothesis runs without its explain phase. After a property test fails and its example is
shrunk, that phase runs the test hundreds of times more (traced line by line before Python
3.12) only to add "# or any other generated value" comments to the report: seconds per failing
test. In a student copy every test of a stubbed part fails on its NotImplementedError, and the
phase made `tinynet homework grade` take minutes instead of seconds. `pytest
--hypothesis-explain` turns it back on.
"""

from hypothesis import Phase, settings

settings.register_profile("tinynet", parent=settings.default,
                          phases=[phase for phase in Phase if phase is not Phase.explain])
settings.load_profile("tinynet")
