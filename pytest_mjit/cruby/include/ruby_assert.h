/* ruby_assert.h (compatibility): VM_ASSERT is off, as in a release build of CRuby. */
#include "pmj_ruby.h"
