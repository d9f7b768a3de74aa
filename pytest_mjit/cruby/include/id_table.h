/* id_table.h (compatibility): iterating Object's constant table. */
#ifndef RUBY_ID_TABLE_H
#define RUBY_ID_TABLE_H 1
#include "pmj_ruby.h"
enum rb_id_table_iterator_result { ID_TABLE_CONTINUE = 0, ID_TABLE_STOP = 1, ID_TABLE_DELETE = 2 };
struct pmj_const_table;
void rb_id_table_foreach(struct pmj_const_table *tbl,
                         enum rb_id_table_iterator_result (*func)(ID id, VALUE val, void *data),
                         void *data);
#endif
