/*
 * pmj_cruby.c: CRuby's own mjit.c (which includes mjit_worker.c), unmodified, as a pytest-mjit
 * C engine.  This file is compiled with those sources and the compatibility headers in
 * include/; below the #include it supplies the VM functions they call, mapped onto the host's
 * services (struct pmj_host), and the pmj_* entry points of pytest_mjit_engine.h.
 *
 * Unwinding.  CRuby's rb_raise never returns; neither may a service the harness aborted.  Each
 * entry point and thread function pushes a jmp_buf (PMJ_ENTER); rb_raise and an aborted
 * service longjmp to the innermost one, which returns PMJ_ERROR or PMJ_ABORT to the host.
 *
 * The environment is never changed.  CRuby's worker vforks its compilers, and the child's execve
 * reads environ while the main thread runs on; options.tmp_dir therefore reaches mjit_init as
 * what its getenv("TMPDIR") returns (pmj_getenv), not through setenv.
 */
#include <stdlib.h>
static char *pmj_getenv(const char *name);
#define getenv(name) pmj_getenv(name)
#include "mjit.c"
#undef getenv

#include <dlfcn.h>

/* -- the host ------------------------------------------------------------------------------ */

static const struct pmj_host *host;

/* The tmp dir the host chose is $TMPDIR to mjit.c, as a Ruby process gets it (only mjit_init
 * asks for TMPDIR). */
static char *
pmj_getenv(const char *name)
{
    if (host != NULL && host->options->tmp_dir != NULL && strcmp(name, "TMPDIR") == 0)
        return (char *)host->options->tmp_dir;
    return getenv(name);
}
char pmj_cc_path[PATH_MAX];

struct pmj_frame {
    jmp_buf buf;
    struct pmj_frame *prev;
};
static __thread struct pmj_frame *pmj_top;
static __thread char pmj_error[PMJ_ERROR_MESSAGE_MAX];

__attribute__((noreturn)) static void
pmj_unwind(int code)
{
    if (pmj_top == NULL) {
        fprintf(stderr, "pytest-mjit: CRuby code unwound outside an entry point\n");
        abort();
    }
    longjmp(pmj_top->buf, code);
}

/* Unwind when a service says the harness gave up on the engine. */
static int
pmj_checked(int rc)
{
    if (rc == PMJ_ABORT)
        pmj_unwind(PMJ_ABORT);
    return rc;
}

#define PMJ_ENTER(body) do { \
        struct pmj_frame frame_; \
        int code_; \
        frame_.prev = pmj_top; \
        pmj_top = &frame_; \
        if ((code_ = setjmp(frame_.buf)) == 0) { \
            body; \
        } \
        pmj_top = frame_.prev; \
        return code_; \
    } while (0)

const char *
pmj_last_error(void)
{
    return pmj_error;
}

void
rb_raise(VALUE exc, const char *fmt, ...)
{
    va_list args;
    (void)exc;
    va_start(args, fmt);
    vsnprintf(pmj_error, sizeof(pmj_error), fmt, args);
    va_end(args);
    pmj_unwind(PMJ_ERROR);
}

/* -- objects, memory, GC --------------------------------------------------------------------- */

struct pmj_class pmj_object_class = { T_CLASS, 0 };
VALUE rb_cObject = (VALUE)&pmj_object_class;
VALUE rb_eRuntimeError = (VALUE)"RuntimeError";
VALUE ruby_prefix_path;
VALUE ruby_archlibdir_path;
const char ruby_null_device[] = "/dev/null";
static VALUE pmj_top_self = (VALUE)&pmj_object_class;

VALUE
rb_vm_top_self(void)
{
    return pmj_top_self;
}

char *
ruby_strdup(const char *str)
{
    char *copy = strdup(str);
    if (copy == NULL)
        abort();
    return copy;
}

void
rb_gc_mark(VALUE obj)
{
    pmj_checked(host->gc_mark((struct pmj_iseq *)obj));
}

VALUE
rb_gc_location(VALUE obj)
{
    return obj;   /* the host's GC never moves objects */
}

void
rb_gc_register_mark_object(VALUE obj)
{
    (void)obj;    /* the serials hash is not a host object */
}

VALUE
rb_obj_hide(VALUE obj)
{
    return obj;
}

int
rb_cloexec_open(const char *pathname, int flags, mode_t mode)
{
    return open(pathname, flags | O_CLOEXEC, mode);
}

/* ruby_waitpid_locked is only reached when WAITPID_USE_SIGCHLD; it is 0 here. */
rb_pid_t
ruby_waitpid_locked(rb_vm_t *vm, rb_pid_t pid, int *status, int options,
                    rb_nativethread_cond_t *cond)
{
    (void)vm; (void)cond;
    return waitpid(pid, status, options);
}

/* -- the hash of valid class serials: a set with its own lock ----------------------------------
 * mjit_add_class_serial writes it without the engine lock (relying on the GVL, which the worker
 * does not hold); this set takes a lock of its own so the stand-in adds no race. */

struct pmj_serial_set {
    pthread_mutex_t lock;
    rb_serial_t *items;
    size_t length, capacity;
};

VALUE
rb_hash_new(void)
{
    struct pmj_serial_set *set = calloc(1, sizeof(*set));
    if (set == NULL)
        abort();
    pthread_mutex_init(&set->lock, NULL);
    return (VALUE)set;
}

static size_t
pmj_serial_index(struct pmj_serial_set *set, rb_serial_t serial)
{
    for (size_t i = 0; i < set->length; i++)
        if (set->items[i] == serial)
            return i;
    return (size_t)-1;
}

VALUE
rb_hash_aset(VALUE hash, VALUE key, VALUE val)
{
    struct pmj_serial_set *set = (struct pmj_serial_set *)hash;
    pthread_mutex_lock(&set->lock);
    if (pmj_serial_index(set, (rb_serial_t)key) == (size_t)-1) {
        if (set->length == set->capacity) {
            size_t capacity = set->capacity ? set->capacity * 2 : 16;
            rb_serial_t *items = realloc(set->items, capacity * sizeof(*items));
            if (items == NULL)
                abort();
            set->items = items;
            set->capacity = capacity;
        }
        set->items[set->length++] = (rb_serial_t)key;
    }
    pthread_mutex_unlock(&set->lock);
    return val;
}

int
rb_hash_stlike_lookup(VALUE hash, VALUE key, VALUE *pval)
{
    struct pmj_serial_set *set = (struct pmj_serial_set *)hash;
    pthread_mutex_lock(&set->lock);
    int found = pmj_serial_index(set, (rb_serial_t)key) != (size_t)-1;
    pthread_mutex_unlock(&set->lock);
    if (found && pval)
        *pval = Qtrue;
    return found;
}

VALUE
rb_hash_delete_entry(VALUE hash, VALUE key)
{
    struct pmj_serial_set *set = (struct pmj_serial_set *)hash;
    pthread_mutex_lock(&set->lock);
    size_t i = pmj_serial_index(set, (rb_serial_t)key);
    if (i != (size_t)-1)
        set->items[i] = set->items[--set->length];
    pthread_mutex_unlock(&set->lock);
    return i != (size_t)-1 ? Qtrue : Qundef;
}

/* -- Object's constant table: the host's classes that exist before mjit_init ----------------- */

struct pmj_const_table {
    size_t length;
    struct pmj_class classes[256];
    rb_const_entry_t entries[256];
};
static struct pmj_const_table pmj_consts;
static bool pmj_initialised;

struct pmj_const_table *
pmj_object_const_table(void)
{
    return &pmj_consts;
}

int
rb_is_const_id(ID id)
{
    (void)id;
    return 1;
}

void
rb_id_table_foreach(struct pmj_const_table *tbl,
                    enum rb_id_table_iterator_result (*func)(ID id, VALUE val, void *data),
                    void *data)
{
    for (size_t i = 0; i < tbl->length; i++)
        if (func((ID)(i + 1), (VALUE)&tbl->entries[i], data) == ID_TABLE_STOP)
            break;
}

/* -- threads, locks, conditions, interrupts ---------------------------------------------------- */

static rb_vm_t pmj_vm = { LIST_HEAD_INIT(pmj_vm.living_threads), { NULL } };
static rb_execution_context_t pmj_main_ec;     /* the main thread's frames */
static rb_execution_context_t pmj_cont_ec;     /* frames of suspended continuations */
static rb_thread_t pmj_main_thread = { { NULL, NULL }, &pmj_vm, &pmj_main_ec };

rb_thread_t *
pmj_current_thread(void)
{
    return &pmj_main_thread;
}

void
rb_native_mutex_initialize(rb_nativethread_lock_t *lock)
{
    lock->handle = host->mutex_new();
    if (lock->handle == NULL)
        pmj_unwind(PMJ_ABORT);
}

void
rb_native_mutex_destroy(rb_nativethread_lock_t *lock)
{
    if (lock->handle)
        host->mutex_free(lock->handle);
    lock->handle = NULL;
}

void
rb_native_mutex_lock(rb_nativethread_lock_t *lock)
{
    pmj_checked(host->mutex_lock(lock->handle));
}

void
rb_native_mutex_unlock(rb_nativethread_lock_t *lock)
{
    pmj_checked(host->mutex_unlock(lock->handle));
}

void
rb_native_cond_initialize(rb_nativethread_cond_t *cond)
{
    cond->handle = host->cond_new();
    if (cond->handle == NULL)
        pmj_unwind(PMJ_ABORT);
}

void
rb_native_cond_destroy(rb_nativethread_cond_t *cond)
{
    if (cond->handle)
        host->cond_free(cond->handle);
    cond->handle = NULL;
}

void
rb_native_cond_signal(rb_nativethread_cond_t *cond)
{
    pmj_checked(host->cond_signal(cond->handle));
}

void
rb_native_cond_broadcast(rb_nativethread_cond_t *cond)
{
    pmj_checked(host->cond_broadcast(cond->handle));
}

void
rb_native_cond_wait(rb_nativethread_cond_t *cond, rb_nativethread_lock_t *mutex)
{
    pmj_checked(host->cond_wait(cond->handle, mutex->handle));
}

static void
pmj_thread_main(void *arg)
{
    void (*worker_func)(void) = (void (*)(void))arg;
    struct pmj_frame frame;
    frame.prev = NULL;
    pmj_top = &frame;
    if (setjmp(frame.buf) == 0)
        worker_func();
    pmj_top = NULL;
}

int
rb_thread_create_mjit_thread(void (*worker_func)(void))
{
    int started = 0;
    pmj_checked(host->thread_create(pmj_thread_main, (void *)worker_func, "mjit-worker",
                                    &started));
    return started;
}

void
pmj_check_ints(void)
{
    pmj_checked(host->check_ints());
}

void
rb_thread_wait_for(struct timeval tv)
{
    pmj_checked(host->sleep(tv.tv_sec + tv.tv_usec / 1e6));
}

/* -- postponed jobs and the copy job ----------------------------------------------------------- */

struct pmj_job {
    rb_postponed_job_func_t func;
    void *data;
};

/* Runs on the main thread.  The copy job's handler copies the caches by memcpy from the
 * body; this tells the host about the copy it is about to make, which it makes exactly when
 * it finds the job armed for a live ISeq (mjit.c: mjit_copy_job_handler).  On the main thread
 * nothing else can change that between the look and the copy. */
static void
pmj_run_job(void *arg)
{
    struct pmj_job job = *(struct pmj_job *)arg;
    free(arg);
    struct pmj_frame frame;
    frame.prev = pmj_top;
    pmj_top = &frame;
    if (setjmp(frame.buf) == 0) {
        if (job.func == mjit_copy_job_handler && !stop_worker_p) {
            mjit_copy_job_t *copy = job.data;
            const rb_iseq_t *iseq = NULL;
            CRITICAL_SECTION_START(3, "pytest-mjit: observing the copy job");
            if (!copy->finish_p)
                iseq = copy->iseq;
            CRITICAL_SECTION_FINISH(3, "pytest-mjit: observing the copy job");
            if (iseq)
                pmj_checked(host->copy_caches((struct pmj_iseq *)iseq, NULL, NULL));
        }
        job.func(job.data);
    }
    pmj_top = frame.prev;
}

int
rb_workqueue_register(unsigned flags, rb_postponed_job_func_t func, void *data)
{
    (void)flags;
    int accepted = 0;
    struct pmj_job *job = malloc(sizeof(*job));
    if (job == NULL)
        return 0;
    job->func = func;
    job->data = data;
    pmj_checked(host->register_postponed_job(pmj_run_job, job, &accepted));
    if (!accepted)
        free(job);
    return accepted;
}

/* mjit_compile.c's job, done by the host's code generator. */
bool
mjit_compile(FILE *f, const rb_iseq_t *iseq, const char *funcname)
{
    int ok = 0;
    fflush(f);
    pmj_checked(host->generate_code(f, (struct pmj_iseq *)iseq, funcname, &ok));
    return ok != 0;
}

/* -- frames: what unload_units walks ----------------------------------------------------------- */

struct pmj_stack {
    rb_control_frame_t *frames;
    size_t capacity;
};
static struct pmj_stack pmj_main_stack, pmj_cont_stack;

static void
pmj_fill_ec(rb_execution_context_t *ec, struct pmj_stack *stack,
            struct pmj_iseq **iseqs, size_t n)
{
    static const VALUE pc = 1;
    if (stack->capacity < n + 1) {
        free(stack->frames);
        stack->capacity = 2 * (n + 1);
        stack->frames = calloc(stack->capacity, sizeof(rb_control_frame_t));
        if (stack->frames == NULL)
            abort();
    }
    /* The oldest frame is a dummy without pc, as CRuby's top frame; the newest is ec->cfp. */
    rb_control_frame_t *end = stack->frames + n + 1;
    ec->vm_stack = (VALUE *)stack->frames;
    ec->vm_stack_size = (n + 1) * sizeof(rb_control_frame_t) / sizeof(VALUE);
    end[-1].pc = NULL;
    end[-1].iseq = NULL;
    for (size_t i = 0; i < n; i++) {
        end[-2 - (long)i].pc = &pc;
        end[-2 - (long)i].iseq = (const rb_iseq_t *)iseqs[i];
    }
    ec->cfp = end - 1 - n;
}

/* Copy the host's stacks into the control frames before anything that may unload units. */
static void
pmj_refresh_frames(void)
{
    size_t count = 0, n_threads = 0, cap = 64;
    struct pmj_iseq **iseqs = NULL;
    for (;;) {
        iseqs = realloc(iseqs, cap * sizeof(*iseqs));
        if (iseqs == NULL)
            abort();
        if (pmj_checked(host->iseqs_on_stack(iseqs, cap, &count, &n_threads)) != PMJ_OK) {
            free(iseqs);
            return;
        }
        if (count <= cap)
            break;
        cap = count;
    }
    pmj_fill_ec(&pmj_main_ec, &pmj_main_stack, iseqs, n_threads);
    pmj_fill_ec(&pmj_cont_ec, &pmj_cont_stack, iseqs + n_threads, count - n_threads);
    free(iseqs);
}

void
rb_fiber_init_mjit_cont(struct rb_fiber_struct *fiber)
{
    (void)fiber;
    mjit_cont_new(&pmj_cont_ec);
}

/* -- entry points ------------------------------------------------------------------------------ */

int
pmj_engine_abi(void)
{
    return PMJ_ABI_VERSION;
}

int
pmj_engine_create(const struct pmj_host *h, struct pmj_engine_info *info)
{
    if (h->abi_version != PMJ_ABI_VERSION || h->size != sizeof(struct pmj_host)) {
        snprintf(pmj_error, sizeof(pmj_error), "host ABI %u (size %u), engine ABI %d (size %zu)",
                 h->abi_version, h->size, PMJ_ABI_VERSION, sizeof(struct pmj_host));
        return PMJ_ERROR;
    }
    host = h;
    if (strlen(h->options->cc) >= sizeof(pmj_cc_path)) {
        snprintf(pmj_error, sizeof(pmj_error), "compiler path too long");
        return PMJ_ERROR;
    }
    strcpy(pmj_cc_path, h->options->cc);
    list_add_tail(&pmj_vm.living_threads, &pmj_main_thread.vmlt_node);
    info->name = "cruby";
    info->version = PMJ_CRUBY_VERSION;
    info->capabilities = "pch copy_job fork compaction unload recompile class_serials";
    return PMJ_OK;
}

int
pmj_enabled(void)
{
    return mjit_enabled;
}

int
pmj_call_p(void)
{
    return mjit_call_p;
}

/* The header's directory, as ruby_prefix_path (mjit.c appends "/" MJIT_MIN_HEADER_NAME). */
static char *
pmj_header_dir(const char *header_file)
{
    char *dir = strdup(header_file);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash)
        *slash = '\0';
    return dir;
}

int
pmj_init(void)
{
    PMJ_ENTER({
        const struct pmj_options *o = host->options;
        struct mjit_options opts;
        size_t len = 1;
        memset(&opts, 0, sizeof(opts));
        opts.on = 1;
        opts.save_temps = (char)o->save_temps;
        opts.warnings = (char)o->warnings;
        opts.debug = (char)o->debug;
        opts.wait = (unsigned)o->wait;
        opts.min_calls = (unsigned)o->min_calls;
        opts.verbose = o->verbose;
        opts.max_cache_size = o->max_cache_size;
        for (const char *const *f = o->debug_flags; *f; f++)
            len += strlen(*f) + 1;
        opts.debug_flags = xmalloc(len);   /* mjit_init frees it */
        opts.debug_flags[0] = '\0';
        for (const char *const *f = o->debug_flags; *f; f++) {
            if (opts.debug_flags[0])
                strcat(opts.debug_flags, " ");
            strcat(opts.debug_flags, *f);
        }
        ruby_prefix_path = (VALUE)pmj_header_dir(host->header_file);
        pmj_initialised = true;
        mjit_init(&opts);   /* its $TMPDIR is options.tmp_dir (pmj_getenv) */
    });
}

int
pmj_add_iseq_to_process(struct pmj_iseq *iseq)
{
    PMJ_ENTER({
        pmj_refresh_frames();
        rb_mjit_add_iseq_to_process((const rb_iseq_t *)iseq);
    });
}

int
pmj_wait(struct pmj_iseq *iseq)
{
    PMJ_ENTER(mjit_wait(((rb_iseq_t *)iseq)->body));
}

int
pmj_recompile(struct pmj_iseq *iseq)
{
    PMJ_ENTER({
        pmj_refresh_frames();
        rb_mjit_recompile_iseq((const rb_iseq_t *)iseq);
    });
}

int
pmj_gc_start_hook(void)
{
    PMJ_ENTER(mjit_gc_start_hook());
}

int
pmj_gc_exit_hook(void)
{
    PMJ_ENTER(mjit_gc_exit_hook());
}

int
pmj_free_iseq(struct pmj_iseq *iseq)
{
    PMJ_ENTER(mjit_free_iseq((const rb_iseq_t *)iseq));
}

int
pmj_mark(void)
{
    PMJ_ENTER(mjit_mark());
}

int
pmj_pause(int wait, int *changed)
{
    PMJ_ENTER(*changed = mjit_pause(wait != 0) == Qtrue);
}

int
pmj_resume(int *changed)
{
    PMJ_ENTER(*changed = mjit_resume() == Qtrue);
}

int
pmj_finish(int close_handle)
{
    PMJ_ENTER(mjit_finish(close_handle != 0));
}

int
pmj_child_after_fork(void)
{
    PMJ_ENTER(mjit_child_after_fork());
}

int
pmj_add_class_serial(uint64_t serial)
{
    /* Classes made before mjit_init are found through Object's constant table, as in CRuby. */
    if (!pmj_initialised) {
        if (pmj_consts.length == numberof(pmj_consts.entries)) {
            snprintf(pmj_error, sizeof(pmj_error), "more than %d classes before init",
                     numberof(pmj_consts.entries));
            return PMJ_ERROR;
        }
        size_t i = pmj_consts.length++;
        pmj_consts.classes[i].type = T_CLASS;
        pmj_consts.classes[i].serial = serial;
        pmj_consts.entries[i].value = (VALUE)&pmj_consts.classes[i];
        return PMJ_OK;
    }
    PMJ_ENTER(mjit_add_class_serial(serial));
}

int
pmj_remove_class_serial(uint64_t serial)
{
    if (!pmj_initialised) {
        for (size_t i = 0; i < pmj_consts.length; i++)
            if (pmj_consts.classes[i].serial == serial)
                pmj_consts.classes[i].type = T_NONE;
        return PMJ_OK;
    }
    PMJ_ENTER(mjit_remove_class_serial(serial));
}

int
pmj_valid_class_serial_p(uint64_t serial, int *valid)
{
    PMJ_ENTER(*valid = mjit_valid_class_serial_p(serial));
}

int
pmj_copy_cache_from_main_thread(struct pmj_iseq *iseq, struct pmj_call_cache *cc_entries,
                                struct pmj_inline_storage *is_entries, int *ok)
{
    /* Like mjit_compile.c, pass NULL for a kind of cache the ISeq has none of. */
    rb_iseq_t *i = (rb_iseq_t *)iseq;
    PMJ_ENTER(*ok = mjit_copy_cache_from_main_thread(
        i, i->body->ci_size ? (struct rb_call_cache *)cc_entries : NULL,
        i->body->is_size ? (union iseq_inline_storage_entry *)is_entries : NULL));
}

/* Reads without the engine lock: it is for failure reports, which must never block. */
int
pmj_stats(char *buf, size_t size)
{
    snprintf(buf, size,
             "enabled=%d\ncall_p=%d\nqueue=%d\nactive=%d\ncompacted=%d\nstale=%d\n"
             "pch_status=%d\nin_gc=%d\nin_jit=%d\nstop_worker_p=%d\nworker_stopped=%d\n"
             "max_cache_size=%d\n",
             mjit_enabled, mjit_call_p, unit_queue.length, active_units.length,
             compact_units.length, stale_units.length, (int)pch_status, in_gc, in_jit,
             stop_worker_p, worker_stopped, mjit_opts.max_cache_size);
    return PMJ_OK;
}
