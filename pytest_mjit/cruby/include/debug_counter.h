/* debug_counter.h (compatibility): debug counters are off (USE_DEBUG_COUNTER 0). */
#ifndef RUBY_DEBUG_COUNTER_H
#define RUBY_DEBUG_COUNTER_H 1
#define RB_DEBUG_COUNTER_INC(type) ((void)0)
#define RB_DEBUG_COUNTER_INC_IF(type, cond) (!!(cond))
#endif
