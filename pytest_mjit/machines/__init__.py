"""Hypothesis state machines that fuzz the MJIT protocol with a controlled schedule.

``run_machine(RigConfig.from_session(...))`` drives a fresh engine per example through drawn
host actions (define, call, GC, pause, fork, finish...) and scheduler actions (let the worker
run to its next protocol point or a few operations on, inject a compiler fault), checking the
protocol's invariants after every step.  An engine built on ``pytest_mjit.sync`` runs under a
controlled schedule (``_schedule.py``).  See ``_machine.py`` for the rules and
``_checks.py`` for the invariants."""

from ._checks import ProtocolViolation
from ._machine import ProtocolMachine, machine_class
from ._rig import RigConfig
from ._runner import MachineRun, UnreproducedFinding, parse_replay, run_machine

__all__ = ["ProtocolMachine", "ProtocolViolation", "RigConfig", "MachineRun", "machine_class",
           "parse_replay", "run_machine", "UnreproducedFinding"]
