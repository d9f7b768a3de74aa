"""Class serials: the engine tracks which classes are alive, and code generation on the
worker relies on it."""

import pytest

from pytest_mjit import JitState
from pytest_mjit.testing import call_to_enqueue, compiled, define_affine, settle

from ._support import define_caller, runs_compiled

pytestmark = pytest.mark.mjit_requires("class_serials")


@pytest.mark.mjit_clause("SERIAL-1")
def test_added_serial_valid_removed_serial_not(mjit_host, mjit_engine):
    """Serials added (before and after init) are valid, removed or unknown ones are not, and
    the worker's check refuses code that calls into a removed class."""
    host, engine = mjit_host, mjit_engine
    live = host.new_class()
    dead = host.new_class()
    assert engine.valid_class_serial_p(host.default_class)   # added on attach, before init
    assert engine.valid_class_serial_p(live) and engine.valid_class_serial_p(dead)
    to_live = define_caller(host, define_affine(host, "in_live", 2, class_serial=live),
                            name="to_live")
    to_dead = define_caller(host, define_affine(host, "in_dead", 3, class_serial=dead),
                            name="to_dead")
    host.free_class(dead)
    assert not engine.valid_class_serial_p(dead)
    assert engine.valid_class_serial_p(live)
    assert not engine.valid_class_serial_p(max(live, dead) + 1000)
    # The worker asks about the callee's class while generating the caller.
    call_to_enqueue(host, to_dead, host.options.min_calls)
    assert settle(host, engine, to_dead) == JitState.NOT_COMPILED
    if "copy_job" in engine.capabilities:
        call_to_enqueue(host, to_live, host.options.min_calls)
        compiled(host, engine, to_live)
        assert runs_compiled(host, to_live, 4)
    assert not host.violations
