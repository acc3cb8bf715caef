"""The conformance matrix: every promise, for every object description, with generated rows and faults.

Cells come from the registry of object descriptions (`cells.py`), values from one profile per object
(`profiles.py`), scenarios from hypothesis (`plans.py`), made real against the project's Stripe-compatible server
(`scenario.py`) and judged from the server's own state (`oracle.py`). The tests are
`integration_tests/test_conformance_*.py`; `unit_tests/test_conformance_coverage.py` fails when an object has no
profile or a dimension leaves a cell out.
"""
