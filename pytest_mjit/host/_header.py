"""The header every compiled unit is built against (the one the engine makes its PCH from).

Freestanding C: no system header is included, so units compile and link with ``-nostdlib``.
Besides the few helpers generated code calls, it declares a VM-sized amount of types and
inline helpers, so that precompiling it is worth it, as with CRuby's minimized header."""

from __future__ import annotations

import os
import tempfile

__all__ = ["HEADER_NAME", "header_text", "write_header"]

#: File name of the header inside the directory it is written to.
HEADER_NAME = "pytest_mjit_host.h"

_PRELUDE = """\
/* pytest-mjit host header: the ABI of compiled methods.  Freestanding; no libc. */
#ifndef PYTEST_MJIT_HOST_H
#define PYTEST_MJIT_HOST_H 1

typedef __INT8_TYPE__ int8_t;
typedef __INT16_TYPE__ int16_t;
typedef __INT32_TYPE__ int32_t;
typedef __INT64_TYPE__ int64_t;
typedef __UINT8_TYPE__ uint8_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT64_TYPE__ uint64_t;
typedef __INTPTR_TYPE__ intptr_t;
typedef __UINTPTR_TYPE__ uintptr_t;
typedef __SIZE_TYPE__ size_t;
typedef __PTRDIFF_TYPE__ ptrdiff_t;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)

/* A compiled method: int64_t _mjit<id>(int64_t *args). */
typedef int64_t (*mjit_func_t)(int64_t *args);

/* Wrapping 64-bit arithmetic: the host's integers are two's complement, modulo 2^64. */
static inline int64_t mjit_wrap_add(int64_t a, int64_t b)
{ return (int64_t)((uint64_t)a + (uint64_t)b); }
static inline int64_t mjit_wrap_sub(int64_t a, int64_t b)
{ return (int64_t)((uint64_t)a - (uint64_t)b); }
static inline int64_t mjit_wrap_mul(int64_t a, int64_t b)
{ return (int64_t)((uint64_t)a * (uint64_t)b); }
#define MJIT_I64(bits) ((int64_t)(uint64_t)(bits))

"""

_TYPES = [
    ("i8", "int8_t", "uint8_t", 8), ("i16", "int16_t", "uint16_t", 16),
    ("i32", "int32_t", "uint32_t", 32), ("i64", "int64_t", "uint64_t", 64),
    ("u8", "uint8_t", "uint8_t", 8), ("u16", "uint16_t", "uint16_t", 16),
    ("u32", "uint32_t", "uint32_t", 32), ("u64", "uint64_t", "uint64_t", 64),
    ("iptr", "intptr_t", "uintptr_t", 64), ("uptr", "uintptr_t", "uintptr_t", 64),
    ("sz", "size_t", "size_t", 64),
]

# (name, body) pairs; the capitals T, U and W stand for the type, its unsigned twin and its
# width in bits (no other capital letter may appear in a body).
_OPS = [
    ("wadd", "(T a, T b) { return (T)((U)a + (U)b); }"),
    ("wsub", "(T a, T b) { return (T)((U)a - (U)b); }"),
    ("wmul", "(T a, T b) { return (T)((U)a * (U)b); }"),
    ("wneg", "(T a) { return (T)(0 - (U)a); }"),
    ("min", "(T a, T b) { return a < b ? a : b; }"),
    ("max", "(T a, T b) { return a > b ? a : b; }"),
    ("clamp", "(T v, T lo, T hi) { return v < lo ? lo : (v > hi ? hi : v); }"),
    ("select", "(bool c, T a, T b) { return c ? a : b; }"),
    ("lt", "(T a, T b) { return a < b; }"),
    ("le", "(T a, T b) { return a <= b; }"),
    ("eq", "(T a, T b) { return a == b; }"),
    ("ne", "(T a, T b) { return a != b; }"),
    ("gt", "(T a, T b) { return a > b; }"),
    ("ge", "(T a, T b) { return a >= b; }"),
    ("and", "(T a, T b) { return (T)((U)a & (U)b); }"),
    ("or", "(T a, T b) { return (T)((U)a | (U)b); }"),
    ("xor", "(T a, T b) { return (T)((U)a ^ (U)b); }"),
    ("not", "(T a) { return (T)~(U)a; }"),
    ("shl", "(T a, unsigned s) { return (T)((U)a << (s % W)); }"),
    ("shr", "(T a, unsigned s) { return (T)((U)a >> (s % W)); }"),
    ("rotl", "(T a, unsigned s) { s %= W; return s ? (T)(((U)a << s) | ((U)a >> (W - s))) : a; }"),
    ("rotr", "(T a, unsigned s) { s %= W; return s ? (T)(((U)a >> s) | ((U)a << (W - s))) : a; }"),
    ("add_ovf", "(T a, T b, T *r) { return __builtin_add_overflow(a, b, r); }"),
    ("sub_ovf", "(T a, T b, T *r) { return __builtin_sub_overflow(a, b, r); }"),
    ("mul_ovf", "(T a, T b, T *r) { return __builtin_mul_overflow(a, b, r); }"),
    ("is_pow2", "(T a) { return a > 0 && (((U)a & ((U)a - 1)) == 0); }"),
    ("align_up", "(T a, T align) { return (T)(((U)a + (U)align - 1) & ~((U)align - 1)); }"),
    ("align_down", "(T a, T align) { return (T)((U)a & ~((U)align - 1)); }"),
    ("bit", "(T a, unsigned i) { return (int)(((U)a >> (i % W)) & 1u); }"),
    ("set_bit", "(T a, unsigned i) { return (T)((U)a | ((U)1 << (i % W))); }"),
    ("clear_bit", "(T a, unsigned i) { return (T)((U)a & ~((U)1 << (i % W))); }"),
    ("load", "(const void *p) { T v; __builtin_memcpy(&v, p, sizeof v); return v; }"),
    ("store", "(void *p, T v) { __builtin_memcpy(p, &v, sizeof v); }"),
]

_VM_FIELDS = [
    ("VALUE", "uintptr_t"), ("ID", "uintptr_t"), ("rb_serial_t", "uint64_t"),
    ("rb_num_t", "uintptr_t"), ("lindex_t", "uintptr_t"), ("rb_snum_t", "intptr_t"),
]


_VM_STRUCTS = 200


def _helpers() -> list[str]:
    lines = []
    for suffix, t, u, width in _TYPES:
        lines.append(f"/* helpers for {t} */")
        for name, body in _OPS:
            ret = "int" if name in ("lt", "le", "eq", "ne", "gt", "ge", "add_ovf", "sub_ovf",
                                    "mul_ovf", "is_pow2", "bit") else "T"
            if name == "store":
                ret = "void"
            text = f"static inline {ret} mjit_{name}_{suffix}{body}"
            lines.append(text.replace("T", t).replace("U", u).replace("W", str(width)))
        lines.append("")
    return lines


def _vm_declarations() -> list[str]:
    lines = ["/* VM data structures as seen by compiled code */"]
    lines += [f"typedef {base} {name};" for name, base in _VM_FIELDS]
    lines.append("")
    for i in range(_VM_STRUCTS):
        lines += [
            f"struct mjit_vm_struct_{i} {{",
            "    VALUE klass;",
            "    rb_serial_t serial;",
            f"    int64_t slots[{i % 7 + 1}];",
            f"    struct mjit_vm_struct_{(i + 1) % _VM_STRUCTS} *next;",
            "    mjit_func_t func;",
            "};",
            f"typedef struct mjit_vm_struct_{i} mjit_vm_struct_{i}_t;",
            f"static inline int64_t mjit_vm_struct_{i}_slot(const mjit_vm_struct_{i}_t *s, "
            f"unsigned i) {{ return s->slots[i % {i % 7 + 1}]; }}",
            f"static inline bool mjit_vm_struct_{i}_serial_p(const mjit_vm_struct_{i}_t *s, "
            "rb_serial_t want) { return s->serial == want; }",
            f"extern VALUE mjit_vm_function_{i}(VALUE recv, int argc, const VALUE *argv);",
            "",
        ]
    lines.append("enum mjit_vm_insn {")
    lines += [f"    MJIT_VM_INSN_{i} = {i}," for i in range(200)]
    lines += ["    MJIT_VM_INSN_COUNT = 200", "};", ""]
    return lines


def header_text() -> str:
    """The full text of the host header."""
    parts = [_PRELUDE, *_helpers(), *_vm_declarations(), "#endif /* PYTEST_MJIT_HOST_H */", ""]
    return "\n".join(parts)


def write_header(directory: str | os.PathLike) -> str:
    """Write the header into ``directory`` (atomically) and return its path."""
    path = os.path.join(os.fspath(directory), HEADER_NAME)
    fd, tmp = tempfile.mkstemp(prefix=".pytest_mjit_header_", suffix=".tmp",
                               dir=os.fspath(directory))
    try:
        with os.fdopen(fd, "w") as f:
            f.write(header_text())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path
