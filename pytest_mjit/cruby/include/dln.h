/* dln.h (compatibility): nothing mjit_worker.c uses lives here. */
#include "pmj_ruby.h"
