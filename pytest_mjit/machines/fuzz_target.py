"""The protocol machines as HypoFuzz fuzz targets (docs/campaigns.md).

HypoFuzz fuzzes what pytest collects as Hypothesis tests: ``@given`` functions and a
``RuleBasedStateMachine``'s ``TestCase``.  The conformance suite's machine tests are neither
(they build their machine from the session's fixtures at run time), so this module builds the
two machines when it is imported, from the same environment variables the plugin reads, and
exposes their ``TestCase`` classes::

    PYTEST_MJIT_ENGINE=ref PYTEST_MJIT_EXAMPLE_DB=redis://HOST:6379/0 \\
        hypothesis fuzz -- --pyargs pytest_mjit.machines.fuzz_target

``PYTEST_MJIT_ENGINE`` (default ``ref``), ``PYTEST_MJIT_CC``, ``PYTEST_MJIT_PRESET`` (its step
count and schedule; HypoFuzz decides how many examples) and ``PYTEST_MJIT_EXAMPLE_DB`` (made
the Hypothesis database of every test, which HypoFuzz requires of the tests it fuzzes)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import hypothesis

from .._loader import load_engine
from .._presets import DEFAULT_PRESET
from ._campaign import database_key, parse_example_db
from ._machine import machine_class
from ._rig import RigConfig

__all__ = ["TestProtocolMachine", "TestProtocolMachineFreeRunning", "CONFIG"]

_ENGINE = os.environ.get("PYTEST_MJIT_ENGINE") or "ref"
_PRESET = os.environ.get("PYTEST_MJIT_PRESET") or DEFAULT_PRESET
_DB = os.environ.get("PYTEST_MJIT_EXAMPLE_DB")

if _DB:
    hypothesis.settings.register_profile("mjit-fuzz", database=parse_example_db(_DB).open())
    hypothesis.settings.load_profile("mjit-fuzz")

_WORK = tempfile.mkdtemp(prefix="mjit-fuzz-")
atexit.register(shutil.rmtree, _WORK, True)
CONFIG = RigConfig.standalone(load_engine(_ENGINE), os.environ.get("PYTEST_MJIT_CC") or None,
                              _WORK, preset=_PRESET)


def _machine(controlled: bool, name: str):
    cls = machine_class(CONFIG, controlled=controlled, name=name)
    # Hypothesis keys a machine's examples by a digest of its class: a class made at run
    # time has no source, so without this every engine would share one key.
    cls._hypothesis_internal_add_digest = database_key(
        _ENGINE, controlled, _PRESET)
    case = cls.TestCase                    # a new class at each access
    case.settings = hypothesis.settings(case.settings,
                                        stateful_step_count=CONFIG.preset.stateful_step_count)
    return case


TestProtocolMachine = _machine(True, "ProtocolMachine")
TestProtocolMachineFreeRunning = _machine(False, "ProtocolMachineFreeRunning")
