"""Example engines for pytest-mjit (see docs/engines.md)."""
