"""The pytest-mjit certification suite: one module per protocol area, every test tagged with
the clause it checks.  Run it with ``pytest --pyargs conformance --mjit-engine=NAME``."""
