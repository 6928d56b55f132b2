"""Mutation testing of the pure core: ``python -m tests.mutation [MODULE ...]`` (``deploy/local/dev mutate``).

Each core module is mutated by mutmut against its own unit tests, in a throw-away copy of the
repository, and scored: killed (a test failed, or the mutant hung) over all mutants that are not on
the reviewed list of equivalent ones (``equivalent.toml``). A mutant no test reaches counts as a
survivor. See docs/development/testing.md#mutation-testing.
"""
