"""Interpreter semantics: 64-bit wrap-around, branches, loops, calls, constants, limits."""

from __future__ import annotations

import ctypes

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_mjit import MjitError, Options
from pytest_mjit.host import Host, Insn, wrap64
from pytest_mjit.strategies import int64s

MIN, MAX = -(1 << 63), (1 << 63) - 1


@pytest.fixture
def host():
    with Host(Options(cc="gcc", cc_family="gcc")) as h:
        yield h


def binary(host, op):
    return host.define(op, [Insn("arg", 0), Insn("arg", 1), Insn(op), Insn("ret")], argc=2)


@pytest.mark.parametrize("op, a, b, expected", [
    ("add", MAX, 1, MIN), ("add", MIN, -1, MAX), ("add", 2, 3, 5),
    ("sub", MIN, 1, MAX), ("sub", 0, MIN, MIN), ("sub", 5, 7, -2),
    ("mul", MAX, 2, -2), ("mul", MIN, -1, MIN), ("mul", 1 << 32, 1 << 32, 0), ("mul", -3, 4, -12),
    ("lt", -1, 0, 1), ("lt", 0, 0, 0), ("le", 0, 0, 1), ("le", 1, 0, 0),
    ("eq", MIN, MIN, 1), ("eq", 1, 2, 0), ("ne", 1, 2, 1), ("ne", 3, 3, 0),
    ("gt", 0, MIN, 1), ("gt", 0, 0, 0), ("ge", MAX, MAX, 1), ("ge", -1, 0, 0),
])
def test_binary_operations_wrap_like_int64(host, op, a, b, expected):
    assert host.call(binary(host, op), a, b) == expected


@given(int64s(), int64s())
@settings(max_examples=200)
def test_wrap64_matches_c_int64(a, b):
    for exact in (a + b, a - b, a * b):
        assert wrap64(exact) == ctypes.c_int64(exact).value


def test_operand_order_is_push_order(host):
    m = host.define("m", [Insn("push", 10), Insn("push", 3), Insn("sub"), Insn("ret")])
    assert host.call(m) == 7


def test_dup_pop_and_locals_start_at_zero(host):
    m = host.define("m", [Insn("load", 1), Insn("push", 6), Insn("dup"), Insn("mul"),
                          Insn("push", 99), Insn("pop"), Insn("add"), Insn("ret")], nlocals=2)
    assert host.call(m) == 36


def test_branches(host):
    # abs(x): x < 0 ? 0 - x : x
    m = host.define("abs", [Insn("arg", 0), Insn("push", 0), Insn("lt"), Insn("branchunless", 8),
                            Insn("push", 0), Insn("arg", 0), Insn("sub"), Insn("ret"),
                            Insn("arg", 0), Insn("ret")], argc=1)
    assert [host.call(m, x) for x in (-5, 0, 5, MIN)] == [5, 0, 5, MIN]
    n = host.define("nz", [Insn("arg", 0), Insn("branchif", 4), Insn("push", 10), Insn("ret"),
                           Insn("push", 20), Insn("ret")], argc=1)
    assert (host.call(n, 0), host.call(n, -1)) == (10, 20)


def sum_to(host):
    """sum of 1..n with a counter loop."""
    return host.define("sum_to", [
        Insn("push", 0), Insn("store", 0),                         # acc = 0
        Insn("push", 1), Insn("store", 1),                         # i = 1
        Insn("load", 1), Insn("arg", 0), Insn("le"), Insn("branchunless", 17),  # 4: while i<=n
        Insn("load", 0), Insn("load", 1), Insn("add"), Insn("store", 0),
        Insn("load", 1), Insn("push", 1), Insn("add"), Insn("store", 1),
        Insn("jump", 4),
        Insn("load", 0), Insn("ret"),                              # 17
    ], argc=1, nlocals=2)


def test_loops(host):
    assert [host.call(sum_to(host), n) for n in (0, 1, 10, 100)] == [0, 1, 55, 5050]


def test_calls_pass_arguments_in_order_through_the_call_path(host):
    sub = binary(host, "sub")
    m = host.define("m", [Insn("arg", 0), Insn("push", 1), Insn("call", 0, 2), Insn("ret")],
                    argc=1, calls=[sub])
    assert host.call(m, 10) == 9
    assert sub.body.total_calls == 1 and m.body.total_calls == 1


def test_constants_are_read_when_executed(host):
    host.set_const("K", 5)
    m = host.define("m", [Insn("getconst", 0), Insn("ret")], consts=["K"])
    assert host.call(m) == 5
    host.set_const("K", MIN)
    assert host.call(m) == MIN
    with pytest.raises(MjitError, match="value of constant 'K'"):
        host.set_const("K", 1 << 64)


def test_set_call_target_repoints_a_cache(host):
    add, sub = binary(host, "add"), binary(host, "sub")
    m = host.define("m", [Insn("push", 5), Insn("push", 2), Insn("call", 0, 2), Insn("ret")],
                    calls=[add])
    assert host.call(m) == 7
    host.set_call_target(m, 0, sub)
    assert host.call(m) == 3
    one = host.define("one", [Insn("push", 1), Insn("ret")])
    with pytest.raises(MjitError, match=r"passes 2 argument.*'one' takes 0"):
        host.set_call_target(m, 0, one)
    with pytest.raises(MjitError, match="has no call cache 1"):
        host.set_call_target(m, 1, sub)


def test_an_endless_loop_hits_the_step_limit(host):
    host.step_limit = 1000
    m = host.define("spin", [Insn("jump", 0)])
    with pytest.raises(MjitError, match="'spin' ran more than 1000 instructions"):
        host.call(m)


def test_unbounded_recursion_hits_the_depth_limit(host):
    one = host.define("one", [Insn("push", 1), Insn("ret")])
    rec = host.define("rec", [Insn("call", 0, 0), Insn("ret")], calls=[one])
    host.set_call_target(rec, 0, rec)
    with pytest.raises(MjitError, match="nests deeper than"):
        host.call(rec)
    assert host.iseqs_on_stack() == []


@pytest.mark.parametrize("args, message", [
    ((1,), "takes 2 argument"), ((1, "x"), "argument 1 of 'add' must be an int"),
    ((1, 1 << 63), "must fit in a signed 64-bit"), ((1, False), "must be an int"),
])
def test_call_arguments_are_checked(host, args, message):
    with pytest.raises(MjitError, match=message):
        host.call(binary(host, "add"), *args)


def test_interpret_runs_the_interpreter_only(host):
    m = binary(host, "mul")
    assert host.interpret(m, 6, 7) == 42
    assert m.body.total_calls == 0


@given(st.integers(0, 20))
@settings(max_examples=20)
def test_loop_sum_matches_python(n):
    with Host(Options(cc="gcc", cc_family="gcc")) as h:
        assert h.call(sum_to(h), n) == n * (n + 1) // 2
