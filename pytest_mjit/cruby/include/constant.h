/* constant.h (compatibility): constant entries of Object's constant table. */
#ifndef RUBY_CONSTANT_H
#define RUBY_CONSTANT_H 1
#include "pmj_ruby.h"
typedef struct rb_const_entry_struct { VALUE value; } rb_const_entry_t;
struct pmj_const_table;
struct pmj_const_table *pmj_object_const_table(void);
#define RCLASS_CONST_TBL(klass) ((void)(klass), pmj_object_const_table())
int rb_is_const_id(ID id);
#endif
