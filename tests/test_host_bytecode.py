"""Instructions and verification: a bad program is refused at definition with a clear line."""

from __future__ import annotations

import pickle

import pytest

from pytest_mjit import MjitError, Options
from pytest_mjit.host import Host, Insn


@pytest.fixture
def host():
    with Host(Options(cc="gcc", cc_family="gcc")) as h:
        yield h


@pytest.mark.parametrize("args, message", [
    (("nop",), "unknown instruction 'nop'"),
    (("push",), "takes 1 operand(s), got 0"),
    (("add", 1), "takes 0 operand(s), got 1"),
    (("push", True), "operands must be ints"),
    (("arg", -1), "must not be negative"),
    (("push", 1 << 63), "signed 64-bit"),
    (("call", 0), "takes 2 operand(s)"),
])
def test_bad_instructions_are_refused(args, message):
    with pytest.raises(MjitError, match="^.*" + message.replace("(", r"\(").replace(")", r"\)")):
        Insn(*args)


def test_insn_is_a_small_immutable_picklable_value():
    insn = Insn("call", 1, 2)
    assert insn.op == "call" and insn.operands == (1, 2)
    assert pickle.loads(pickle.dumps(insn)) == insn
    assert repr(insn) == "Insn('call', 1, 2)"
    with pytest.raises(AttributeError):
        insn.op = "ret"


def _define(host, code, **kw):
    return host.define("m", code, **kw)


@pytest.mark.parametrize("code, kw, message", [
    ([], {}, "the code is empty"),
    ([Insn("push", 1)], {}, "falls off the end"),
    ([Insn("add"), Insn("ret")], {}, "stack underflow"),
    ([Insn("ret")], {}, "stack underflow"),
    ([Insn("arg", 1), Insn("ret")], {"argc": 1}, "argument index out of range"),
    ([Insn("load", 0), Insn("ret")], {}, "local index out of range"),
    ([Insn("push", 1), Insn("store", 2), Insn("push", 0), Insn("ret")], {"nlocals": 2},
     "local index out of range"),
    ([Insn("jump", 5)], {}, "jump target outside the code"),
    ([Insn("push", 1), Insn("push", 1), Insn("branchif", 0), Insn("ret")], {},
     "reached with stack depth"),
    ([Insn("call", 0, 0), Insn("ret")], {}, "call cache index out of range"),
    ([Insn("getconst", 0), Insn("ret")], {}, "inline storage index out of range"),
    ([Insn("push", 1), "ret"], {}, "is 'ret', not an Insn"),
])
def test_bad_programs_are_refused_with_the_instruction_named(host, code, kw, message):
    with pytest.raises(MjitError, match="ISeq 'm'") as info:
        _define(host, code, **kw)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_call_must_pass_the_callee_argc(host):
    add = host.define("add", [Insn("arg", 0), Insn("arg", 1), Insn("add"), Insn("ret")], argc=2)
    with pytest.raises(MjitError, match=r"passes 1 argument.*callee takes 2"):
        host.define("m", [Insn("push", 1), Insn("call", 0, 1), Insn("ret")], calls=[add])


def test_constants_must_be_defined_first(host):
    with pytest.raises(MjitError, match="constant 'K' is not defined"):
        host.define("m", [Insn("getconst", 0), Insn("ret")], consts=["K"])


def test_callees_must_belong_to_the_host(host):
    with Host(Options(cc="gcc", cc_family="gcc")) as other:
        foreign = other.define("f", [Insn("push", 1), Insn("ret")])
    with pytest.raises(MjitError, match="expected an ISeq of this host"):
        host.define("m", [Insn("call", 0, 0), Insn("ret")], calls=[foreign])


@pytest.mark.parametrize("kw, message", [
    ({"name": ""}, "name must be a non-empty string"),
    ({"argc": -1}, "argc must be an int >= 0"),
    ({"nlocals": True}, "nlocals must be an int >= 0"),
    ({"class_serial": 999}, "is not a live class"),
])
def test_bad_definition_arguments(host, kw, message):
    args = {"name": "m", "code": [Insn("push", 0), Insn("ret")], **kw}
    with pytest.raises(MjitError, match=message):
        host.define(**args)


def test_tuples_stand_for_instructions_and_unreachable_code_is_allowed(host):
    m = host.define("m", [("push", 4), ("ret",), ("add",), ("jump", 0)])
    assert m.code[0] == Insn("push", 4)
    assert host.call(m) == 4


def test_iseq_fields(host):
    m = host.define("m", [Insn("arg", 0), Insn("ret")], argc=1, nlocals=2, path="x.rb", lineno=7)
    assert (m.name, m.argc, m.nlocals) == ("m", 1, 2)
    assert m.body.location.label == "m"
    assert (m.body.location.path, m.body.location.first_lineno) == ("x.rb", 7)
    assert m.body.total_calls == 0 and m.body.jit_unit is None
    assert m.class_serial == host.default_class
    assert not m.freed
