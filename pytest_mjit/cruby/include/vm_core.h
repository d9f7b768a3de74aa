/* vm_core.h (compatibility): ISeqs, threads, control frames and native locks as the
 * pytest-mjit host lays them out.  Layouts match pytest_mjit_engine.h, checked below. */
#ifndef RUBY_VM_CORE_H
#define RUBY_VM_CORE_H 1

#include "pmj_ruby.h"
#include "ccan/list/list.h"

/* Native locks and conditions are the host's (routed through its scheduler). */
typedef struct { pmj_mutex *handle; } rb_nativethread_lock_t;
typedef struct { pmj_cond *handle; } rb_nativethread_cond_t;

struct rb_execution_context_struct;
struct rb_control_frame_struct;
typedef struct rb_execution_context_struct rb_execution_context_t;
typedef struct rb_control_frame_struct rb_control_frame_t;

enum iseq_type { ISEQ_TYPE_TOP = 0, ISEQ_TYPE_METHOD = PMJ_ISEQ_TYPE_METHOD, ISEQ_TYPE_BLOCK = 2 };

struct rb_call_cache { rb_serial_t class_serial; uint64_t callee_id; };
struct rb_call_info { unsigned int orig_argc; unsigned int index; };
struct rb_call_data { struct rb_call_cache cc; struct rb_call_info ci; };
struct rb_kwarg_call_data { struct rb_call_cache cc; struct rb_call_info ci; };
union iseq_inline_storage_entry { struct { int64_t value; uint64_t constant_id; } constant; };

struct rb_mjit_unit;

struct rb_iseq_location_struct {
    VALUE label;         /* a string VALUE */
    VALUE pathobj;       /* a string VALUE */
    VALUE first_lineno;  /* the line number */
};

struct rb_iseq_constant_body {
    VALUE (*volatile jit_func)(struct rb_execution_context_struct *, struct rb_control_frame_struct *);
    volatile long unsigned total_calls;
    struct rb_mjit_unit *jit_unit;
    struct rb_iseq_location_struct location;
    unsigned int ci_size;
    unsigned int ci_kw_size;
    unsigned int is_size;
    unsigned int iseq_size;
    struct rb_call_data *call_data;
    union iseq_inline_storage_entry *is_entries;
    enum iseq_type type;
    int reserved;
    uint64_t iseq_id;
};

typedef struct rb_iseq_struct {
    VALUE flags;
    VALUE wrapper;
    struct rb_iseq_constant_body *body;
    uint64_t id;
} rb_iseq_t;

#define PMJ_SAME(a, b, f) _Static_assert(offsetof(a, f) == offsetof(b, f), #f " differs")
PMJ_SAME(struct rb_iseq_constant_body, struct pmj_body, jit_func);
PMJ_SAME(struct rb_iseq_constant_body, struct pmj_body, total_calls);
PMJ_SAME(struct rb_iseq_constant_body, struct pmj_body, jit_unit);
PMJ_SAME(struct rb_iseq_constant_body, struct pmj_body, location);
PMJ_SAME(struct rb_iseq_constant_body, struct pmj_body, ci_size);
PMJ_SAME(struct rb_iseq_constant_body, struct pmj_body, is_size);
PMJ_SAME(struct rb_iseq_constant_body, struct pmj_body, call_data);
PMJ_SAME(struct rb_iseq_constant_body, struct pmj_body, is_entries);
PMJ_SAME(struct rb_iseq_constant_body, struct pmj_body, iseq_id);
PMJ_SAME(rb_iseq_t, struct pmj_iseq, body);
_Static_assert(sizeof(struct rb_call_data) == sizeof(struct pmj_call_data), "call data size");
_Static_assert(sizeof(union iseq_inline_storage_entry) == sizeof(struct pmj_inline_storage),
               "inline storage size");

#define rb_iseq_path(iseq) ((iseq)->body->location.pathobj)

enum imemo_type { imemo_iseq = PMJ_ISEQ_FLAGS };
#define imemo_type(obj) ((enum imemo_type)(((const rb_iseq_t *)(obj))->flags))

/* Control frames grow down from the end of the VM stack, as in CRuby. */
struct rb_control_frame_struct {
    const VALUE *pc;     /* non-NULL for a frame running an ISeq */
    const rb_iseq_t *iseq;
};

struct rb_fiber_struct;
struct rb_execution_context_struct {
    VALUE *vm_stack;
    size_t vm_stack_size;   /* in VALUEs */
    rb_control_frame_t *cfp;
    struct rb_fiber_struct *fiber_ptr;
};
#define RUBY_VM_END_CONTROL_FRAME(ec) \
    ((rb_control_frame_t *)((ec)->vm_stack + (ec)->vm_stack_size))
#define RUBY_VM_NEXT_CONTROL_FRAME(cfp) ((cfp) - 1)

typedef struct rb_vm_struct {
    struct list_head living_threads;
    rb_nativethread_lock_t waitpid_lock;
} rb_vm_t;

typedef struct rb_thread_struct {
    struct list_node vmlt_node;
    rb_vm_t *vm;
    rb_execution_context_t *ec;
} rb_thread_t;

rb_thread_t *pmj_current_thread(void);
#define GET_THREAD() pmj_current_thread()
#define GET_VM() (pmj_current_thread()->vm)
#define GET_EC() (pmj_current_thread()->ec)

/* Interrupt checks and sleeping are the host's (they run its postponed jobs). */
void pmj_check_ints(void);
#define RUBY_VM_CHECK_INTS(ec) ((void)(ec), pmj_check_ints())
void rb_thread_wait_for(struct timeval tv);
void rb_fiber_init_mjit_cont(struct rb_fiber_struct *fiber);

#define VM_ASSERT(expr) ((void)0)

#endif /* RUBY_VM_CORE_H */
