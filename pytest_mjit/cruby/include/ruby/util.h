/* ruby/util.h (compatibility): ruby_strdup is declared in pmj_ruby.h. */
#include "../pmj_ruby.h"
