/*
 * pmj_ruby.h: the part of CRuby's own headers that mjit.c and mjit_worker.c (CRuby 2.7) use,
 * mapped onto the pytest-mjit host.  Every other compatibility header here includes it.
 * docs/c-engines.md lists each stand-in and why it is honest.
 */
#ifndef PMJ_RUBY_H
#define PMJ_RUBY_H 1

#define _GNU_SOURCE 1
#include <alloca.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pytest_mjit_engine.h"

#define USE_MJIT 1
#define HAVE_FCNTL_H 1
#define HAVE_SYS_PARAM_H 1
#define HAVE_CLOCK_GETTIME 1
#define USE_DEBUG_COUNTER 0
/* mjit.c builds the header path from ruby_prefix_path: the host's header directory. */
#define LOAD_RELATIVE 1
#define PRI_PIDT_PREFIX ""
#define TRUE 1
#define FALSE 0

#ifndef RUBY_SYMBOL_EXPORT_BEGIN
# define RUBY_SYMBOL_EXPORT_BEGIN
# define RUBY_SYMBOL_EXPORT_END
#endif
#define RUBY_EXTERN extern
#define PRINTF_ARGS(decl, string_index, first_to_check) \
    decl __attribute__((format(printf, string_index, first_to_check)))
#define COMPILER_WARNING_PUSH _Pragma("GCC diagnostic push")
#define COMPILER_WARNING_POP _Pragma("GCC diagnostic pop")
#define COMPILER_WARNING_PRAGMA(str) _Pragma(#str)
#define COMPILER_WARNING_IGNORED(flag) COMPILER_WARNING_PRAGMA(GCC diagnostic ignored #flag)
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define numberof(array) ((int)(sizeof(array) / sizeof((array)[0])))
#define rb_strlen_lit(str) (sizeof(str "") - 1)
#define ATOMIC_PTR_EXCHANGE(var, val) __atomic_exchange_n(&(var), (val), __ATOMIC_SEQ_CST)

/* Objects.  A VALUE is a pointer-sized word; a string VALUE is its NUL-terminated bytes. */
typedef uintptr_t VALUE;
typedef uintptr_t ID;
typedef unsigned long long rb_serial_t;
typedef pid_t rb_pid_t;
#define Qfalse ((VALUE)0)
#define Qtrue ((VALUE)0x14)
#define Qnil ((VALUE)0x08)
#define Qundef ((VALUE)0x34)
#define RSTRING_PTR(str) ((char *)(str))
#define RSTRING_LEN(str) ((long)strlen((const char *)(str)))
#define StringValuePtr(v) RSTRING_PTR(v)
/* body->location.first_lineno holds the line number itself. */
#define FIXNUM_P(v) 1
#define FIX2LONG(v) ((long)(v))
#define FIX2INT(v) ((int)(v))
#define LONG2FIX(v) ((VALUE)(v))

/* Classes: Object and the top self's class carry serial 0, which the host never hands out;
 * the host's classes that exist before mjit_init are constants of Object. */
enum ruby_value_type { T_NONE = 0, T_OBJECT = 1, T_CLASS = 2, T_MODULE = 3 };
struct pmj_class { enum ruby_value_type type; rb_serial_t serial; };
#define RB_TYPE_P(obj, t) (((const struct pmj_class *)(obj))->type == (t))
#define RCLASS_SERIAL(klass) (((const struct pmj_class *)(klass))->serial)
#define CLASS_OF(obj) ((VALUE)&pmj_object_class)
extern struct pmj_class pmj_object_class;
extern VALUE rb_cObject;
extern VALUE rb_eRuntimeError;
VALUE rb_vm_top_self(void);
extern VALUE ruby_prefix_path, ruby_archlibdir_path;

/* Memory. */
#define xmalloc malloc
#define xfree free
#define ZALLOC(type) ((type *)calloc(1, sizeof(type)))
#define MEMCPY(p1, p2, type, n) memcpy((p1), (p2), sizeof(type) * (size_t)(n))
char *ruby_strdup(const char *str);

/* Errors: rb_raise unwinds to the entry point the host called (PMJ_ERROR). */
void rb_raise(VALUE exc, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

/* GC. */
void rb_gc_mark(VALUE obj);
VALUE rb_gc_location(VALUE obj);
void rb_gc_register_mark_object(VALUE obj);
VALUE rb_obj_hide(VALUE obj);
#define RUBY_MARK_ENTER(msg)
#define RUBY_MARK_LEAVE(msg)

/* The hash of valid class serials: a set of integers with its own lock. */
VALUE rb_hash_new(void);
VALUE rb_hash_aset(VALUE hash, VALUE key, VALUE val);
int rb_hash_stlike_lookup(VALUE hash, VALUE key, VALUE *pval);
VALUE rb_hash_delete_entry(VALUE hash, VALUE key);

/* Files and processes. */
int rb_cloexec_open(const char *pathname, int flags, mode_t mode);
extern const char ruby_null_device[];
#define WAITPID_USE_SIGCHLD 0
#define RUBY_SIGCHLD SIGCHLD
#define SIGCHLD_LOSSY 0
#define PRELOADENV "LD_PRELOAD"
#define DLEXT ".so"

#endif /* PMJ_RUBY_H */
