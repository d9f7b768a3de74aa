/*
 * pytest_mjit_engine.h: the C engine interface of pytest-mjit (docs/c-engines.md).
 *
 * A C engine is a shared library that exports the pmj_* entry points declared at the end of
 * this file.  The harness loads one private copy of the library per engine instance, hands it
 * the host's services (struct pmj_host) and then drives it exactly as it drives a Python
 * engine: the conformance suite and the protocol machines run it unchanged.
 *
 * The host keeps every method's body in memory laid out as struct pmj_body, so the jit_func
 * a C engine stores is exactly what the host's call path reads, and total_calls is what the
 * call path counts.
 *
 * Threads.  Every entry point is called on the host's main thread, except
 * pmj_valid_class_serial_p and pmj_copy_cache_from_main_thread, which the host calls on the
 * engine's worker thread from inside host->generate_code.  Entry points run without the
 * Python GIL; host services take it.  A service that returns PMJ_ABORT asks the engine to
 * give up at once: the harness gave up on the engine (a deadline expired) and the engine must
 * return from the entry point or thread function that is running, without touching the host
 * again (the CRuby profile unwinds with longjmp).
 */
#ifndef PYTEST_MJIT_ENGINE_H
#define PYTEST_MJIT_ENGINE_H 1

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

#define PMJ_ABI_VERSION 1

/* Status codes of entry points and services. */
#define PMJ_OK 0
#define PMJ_ERROR 1    /* the entry point failed; pmj_last_error() says why */
#define PMJ_ABORT 2    /* the harness gave up on the engine: unwind now */

/* The non-function values of jit_func (C: enum rb_mjit_iseq_func). */
#define PMJ_NOT_ADDED ((void *)0)
#define PMJ_NOT_READY ((void *)1)
#define PMJ_NOT_COMPILED ((void *)2)
#define PMJ_LAST_JIT_ISEQ_FUNC 3

/* Compiled code: int64_t _mjit<unit id>(int64_t *args). */
typedef int64_t (*pmj_jit_func_t)(int64_t *args);

/* Where a method was defined.  The strings live as long as the method. */
struct pmj_location {
    const char *label;
    const char *path;
    int64_t first_lineno;
};

/* One call site's cache as the main thread keeps it: the callee and its class serial. */
struct pmj_call_cache {
    uint64_t class_serial;
    uint64_t callee_id;
};

/* What a call site passes (fixed for the method's life). */
struct pmj_call_info {
    uint32_t argc;
    uint32_t index;
};

struct pmj_call_data {
    struct pmj_call_cache cc;
    struct pmj_call_info ci;
};

/* One inline-storage entry: the value of the constant it caches. */
struct pmj_inline_storage {
    int64_t value;
    uint64_t constant_id;
};

/*
 * The C view of an ISeq body.  jit_func, total_calls and jit_unit are shared with the engine
 * (read and written in place); call_data and is_entries belong to the main thread: an engine
 * reads them only on the main thread (a postponed job), or from the worker while the main
 * thread is blocked in pmj_wait (wait mode).  ci_kw_size is always 0.
 */
struct pmj_body {
    void *volatile jit_func;
    volatile uint64_t total_calls;
    void *jit_unit;
    struct pmj_location location;
    uint32_t ci_size;
    uint32_t ci_kw_size;
    uint32_t is_size;
    uint32_t iseq_size;
    struct pmj_call_data *call_data;
    struct pmj_inline_storage *is_entries;
    int32_t type;           /* PMJ_ISEQ_TYPE_METHOD */
    int32_t reserved;
    uint64_t iseq_id;       /* the host's id of the method */
};

#define PMJ_ISEQ_TYPE_METHOD 1
#define PMJ_ISEQ_FLAGS 0x7  /* what iseq->flags holds: CRuby's imemo_iseq tag */

/* An ISeq: the handle every entry point and service takes. */
struct pmj_iseq {
    uint64_t flags;
    uint64_t wrapper;
    struct pmj_body *body;
    uint64_t id;
};

/* The engine's options, normalised as mjit_init does (OPT-1). */
struct pmj_options {
    int32_t wait;
    int32_t save_temps;
    int32_t warnings;
    int32_t debug;
    int32_t verbose;
    int32_t min_calls;
    int32_t max_cache_size;
    int32_t cc_is_clang;
    double wait_timeout;             /* seconds */
    const char *cc;                  /* absolute path of the compiler to run */
    const char *const *debug_flags;  /* NULL-terminated */
    const char *tmp_dir;             /* NULL: choose as CRuby does (TMPDIR, TMP, /tmp) */
};

/* Opaque handles of the host's synchronisation objects and threads. */
typedef struct pmj_mutex pmj_mutex;
typedef struct pmj_cond pmj_cond;

typedef void (*pmj_job_func)(void *data);
typedef void (*pmj_thread_func)(void *arg);

/*
 * What the host offers a C engine.  Unless said otherwise a service returns PMJ_OK, or
 * PMJ_ABORT when the harness gave up on the engine.
 */
struct pmj_host {
    uint32_t abi_version;
    uint32_t size;                   /* sizeof(struct pmj_host) */
    const char *header_file;         /* the header the PCH is built from */
    const struct pmj_options *options;

    /* Write C for iseq as "int64_t funcname(int64_t *args)" to out.  Worker thread, while the
     * engine excludes GC (in_jit).  The host calls pmj_copy_cache_from_main_thread and
     * pmj_valid_class_serial_p from inside.  *ok is 1 on success. */
    int (*generate_code)(FILE *out, struct pmj_iseq *iseq, const char *funcname, int *ok);
    /* Queue fn(data) for the main thread's next interrupt check (rb_workqueue_register).
     * *accepted is 0 when the host refused. */
    int (*register_postponed_job)(pmj_job_func fn, void *data, int *accepted);
    /* Copy iseq's call caches and inline storage into the buffers (ci_size and is_size
     * entries; either may be NULL).  Main thread, inside a postponed job; or the worker
     * while the main thread waits in pmj_wait. */
    int (*copy_caches)(struct pmj_iseq *iseq, struct pmj_call_cache *cc_entries,
                       struct pmj_inline_storage *is_entries);
    /* Run pending postponed jobs (RUBY_VM_CHECK_INTS).  Main thread. */
    int (*check_ints)(void);
    /* Sleep, running postponed jobs before and after (rb_thread_wait_for).  Main thread. */
    int (*sleep)(double seconds);
    /* The ISeqs with a frame on the stack: *n_threads of them on threads' stacks first, then
     * those of suspended continuations; *count in all (at most cap are stored).  Main thread. */
    int (*iseqs_on_stack)(struct pmj_iseq **out, size_t cap, size_t *count, size_t *n_threads);
    /* Keep iseq alive through the GC running now (rb_gc_mark); called from pmj_mark. */
    int (*gc_mark)(struct pmj_iseq *iseq);
    /* Start a thread running fn(arg) (rb_thread_create_mjit_thread).  *started is 0 on
     * failure.  The thread ends when fn returns. */
    int (*thread_create)(pmj_thread_func fn, void *arg, const char *name, int *started);
    /* Mutexes and condition variables (rb_native_mutex_*, rb_native_cond_*). */
    pmj_mutex *(*mutex_new)(void);
    int (*mutex_lock)(pmj_mutex *m);
    int (*mutex_unlock)(pmj_mutex *m);
    void (*mutex_free)(pmj_mutex *m);
    pmj_cond *(*cond_new)(void);
    int (*cond_wait)(pmj_cond *c, pmj_mutex *m);
    int (*cond_signal)(pmj_cond *c);
    int (*cond_broadcast)(pmj_cond *c);
    void (*cond_free)(pmj_cond *c);
};

/* Filled by pmj_engine_create. */
struct pmj_engine_info {
    const char *name;
    const char *version;
    const char *capabilities;  /* space-separated names from pytest_mjit.CAPABILITIES */
};

/* Status to report through pmj_last_error(). */
#define PMJ_ERROR_MESSAGE_MAX 512

/*
 * Entry points a C engine exports.  Each returns PMJ_OK, PMJ_ERROR (the Python side raises
 * pytest_mjit.EngineStateError with pmj_last_error()) or PMJ_ABORT.
 */
int pmj_engine_abi(void);
int pmj_engine_create(const struct pmj_host *host, struct pmj_engine_info *info);
const char *pmj_last_error(void);
int pmj_enabled(void);
int pmj_call_p(void);
int pmj_init(void);
int pmj_add_iseq_to_process(struct pmj_iseq *iseq);
int pmj_wait(struct pmj_iseq *iseq);
int pmj_recompile(struct pmj_iseq *iseq);
int pmj_gc_start_hook(void);
int pmj_gc_exit_hook(void);
int pmj_free_iseq(struct pmj_iseq *iseq);
int pmj_mark(void);
int pmj_pause(int wait, int *changed);
int pmj_resume(int *changed);
int pmj_finish(int close_handle);
int pmj_child_after_fork(void);
int pmj_add_class_serial(uint64_t serial);
int pmj_remove_class_serial(uint64_t serial);
int pmj_valid_class_serial_p(uint64_t serial, int *valid);
int pmj_copy_cache_from_main_thread(struct pmj_iseq *iseq, struct pmj_call_cache *cc_entries,
                                    struct pmj_inline_storage *is_entries, int *ok);
/* Engine state as "key=value" lines, for failure reports only. */
int pmj_stats(char *buf, size_t size);

#endif /* PYTEST_MJIT_ENGINE_H */
