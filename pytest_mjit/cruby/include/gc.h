/* gc.h (compatibility): nothing mjit_worker.c uses lives here; GC calls are in pmj_ruby.h. */
#include "pmj_ruby.h"
