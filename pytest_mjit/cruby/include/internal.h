/* internal.h (compatibility): what mjit.c takes from CRuby's internal.h. */
#ifndef RUBY_INTERNAL_H
#define RUBY_INTERNAL_H 1
#include "pmj_ruby.h"
#endif
