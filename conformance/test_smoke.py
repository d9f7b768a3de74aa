"""The pipeline end to end: a method called min_calls times is compiled in the background and
its compiled code returns what the interpreter returns."""

import pytest

from pytest_mjit import is_compiled
from pytest_mjit._deadline import wait_for
from pytest_mjit.host import Insn


@pytest.mark.mjit_clause("COMPILE-1")
def test_compiled_method_returns_interpreter_result(mjit_host, mjit_engine, mjit_options):
    host = mjit_host
    # f(a, b) = (a + b) * (a - b), wrapping on 64 bits
    f = host.define("f", [Insn("arg", 0), Insn("arg", 1), Insn("add"),
                          Insn("arg", 0), Insn("arg", 1), Insn("sub"), Insn("mul"), Insn("ret")],
                    argc=2)
    for _ in range(mjit_options.min_calls):
        host.call(f, 7, 3)
    wait_for(lambda: is_compiled(f.body.jit_func) or not mjit_engine.enabled, 30,
             "f to be compiled", extra=lambda: repr(dict(mjit_engine.stats())))
    assert is_compiled(f.body.jit_func), f"engine gave up: jit_func={f.body.jit_func!r}"
    calls_before = len([e for e in host.events if e.kind == "jit_call"])
    for args in [(7, 3), (0, 0), (-5, 12), (2**62, 3), (-(2**63), 1)]:
        assert host.call(f, *args) == host.interpret(f, *args)
    assert len([e for e in host.events if e.kind == "jit_call"]) - calls_before == 5
