/* ruby.h (compatibility): included by mjit.h. */
#include "pmj_ruby.h"
