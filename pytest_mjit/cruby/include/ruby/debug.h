/* ruby/debug.h (compatibility): the postponed-job function type. */
#ifndef RUBY_DEBUG_H
#define RUBY_DEBUG_H 1
typedef void (*rb_postponed_job_func_t)(void *arg);
#endif
