/*
 * stuck.c: a small C engine for the harness's own tests.  It writes the body in place and
 * then blocks where a deadlocked engine would: gc_start_hook waits on a condition nobody
 * signals, and its worker waits on another for ever, ignoring the stop flag.  Built with
 * -DPMJ_MISSING_STATS it lacks an entry point.
 */
#include "pytest_mjit_engine.h"

static const struct pmj_host *host;
static pmj_mutex *lock;
static pmj_cond *never;
static int enabled;
static uint64_t seen_calls;
static int gave_up;

const char *pmj_last_error(void) { return "stuck engine"; }
int pmj_engine_abi(void) { return PMJ_ABI_VERSION; }
int pmj_enabled(void) { return enabled; }
int pmj_call_p(void) { return enabled; }

int
pmj_engine_create(const struct pmj_host *h, struct pmj_engine_info *info)
{
    host = h;
    info->name = "stuck";
    info->version = "1";
    info->capabilities = "";
    return PMJ_OK;
}

/* Wait on `never` until the host abandons the engine (PMJ_ABORT), then give up. */
static int
wait_for_ever(void)
{
    int rc = host->mutex_lock(lock);
    while (rc == PMJ_OK)
        rc = host->cond_wait(never, lock);
    gave_up++;
    return rc;
}

static void
worker(void *arg)
{
    (void)arg;
    wait_for_ever();
}

int
pmj_init(void)
{
    int started = 0;
    lock = host->mutex_new();
    never = host->cond_new();
    enabled = 1;
    return host->thread_create(worker, NULL, "stuck-worker", &started);
}

int
pmj_add_iseq_to_process(struct pmj_iseq *iseq)
{
    seen_calls = iseq->body->total_calls;
    iseq->body->jit_func = PMJ_NOT_READY;
    return PMJ_OK;
}

int pmj_gc_start_hook(void) { return wait_for_ever(); }
int pmj_wait(struct pmj_iseq *iseq) { (void)iseq; return PMJ_OK; }
int pmj_recompile(struct pmj_iseq *iseq) { (void)iseq; return PMJ_OK; }
int pmj_gc_exit_hook(void) { return PMJ_OK; }
int pmj_free_iseq(struct pmj_iseq *iseq) { (void)iseq; return PMJ_OK; }
int pmj_mark(void) { return PMJ_OK; }
int pmj_pause(int wait, int *changed) { (void)wait; *changed = 0; return PMJ_OK; }
int pmj_resume(int *changed) { *changed = 0; return PMJ_OK; }
int pmj_finish(int close_handle) { (void)close_handle; enabled = 0; return PMJ_OK; }
int pmj_child_after_fork(void) { return PMJ_OK; }
int pmj_add_class_serial(uint64_t serial) { (void)serial; return PMJ_OK; }
int pmj_remove_class_serial(uint64_t serial) { (void)serial; return PMJ_OK; }
int pmj_valid_class_serial_p(uint64_t serial, int *valid) { (void)serial; *valid = 1; return PMJ_OK; }

int
pmj_copy_cache_from_main_thread(struct pmj_iseq *iseq, struct pmj_call_cache *cc,
                                struct pmj_inline_storage *is, int *ok)
{
    (void)iseq; (void)cc; (void)is;
    *ok = 0;
    return PMJ_OK;
}

#ifndef PMJ_MISSING_STATS
int
pmj_stats(char *buf, size_t size)
{
    snprintf(buf, size, "seen_calls=%llu\ngave_up=%d\n", (unsigned long long)seen_calls,
             gave_up);
    return PMJ_OK;
}
#endif
