"""The protocol machine: drawn sequences of host actions (define, call, GC whole or split,
postponed jobs, recompile, pause, resume, frames on the stack, fork, finish), worker steps
under a controlled schedule and compiler faults, with the protocol's invariants checked after
every step.  A failure prints the shrunk steps, a per-thread trace and a ``--mjit-replay``
line that reproduces it."""

import warnings

import pytest

from pytest_mjit.testing import blame
from pytest_mjit.machines import UnreproducedFinding, run_machine
from pytest_mjit.machines.plugin import replay_value

#: What the invariants and the bounded client calls check after every step.  A failure is
#: reported against the clauses its problems name (all of these when one names none).
CLAUSES = ("COMPILE-1", "GC-1", "GC-2", "GC-4", "COPYJOB-1", "LOAD-1", "QUEUE-6",
           "STOP-1", "STOP-2", "STOP-3", "FINISH-1", "FINISH-2", "FINISH-3", "FAULT-2")


def _tag(test):
    for clause in CLAUSES:
        test = pytest.mark.mjit_clause(clause)(test)
    return test


@_tag
def test_protocol_machine(request, mjit_machine_config):
    """Controlled schedule: the worker passes each protocol point only when a step says so."""
    run = run_machine(mjit_machine_config, replay=replay_value(request.config))
    if run.failed:
        blame(request.node, run.clauses)
        pytest.fail(run.describe(), pytrace=False)
    print(run.describe())


@_tag
def test_protocol_machine_free_running(request, mjit_machine_config):
    """Stress: no controlled schedule, the worker runs free while steps and compiler faults
    (slow, fail, crash) race it; the same invariants hold.  A failure that Hypothesis could
    not reproduce (timing decided it) is reported as a finding to look at, not as a failed
    clause: a correct engine is never refused on the timing of a loaded machine."""
    run = run_machine(mjit_machine_config, controlled=False)
    if run.failed and not run.reproduced:
        request.node.user_properties.append(("mjit_finding", run.describe()[:4000]))
        warnings.warn(UnreproducedFinding(run.describe()), stacklevel=1)
    elif run.failed:
        blame(request.node, run.clauses)
        pytest.fail(run.describe(), pytrace=False)
    print(run.describe())
