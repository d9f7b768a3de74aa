/* ccan/list/list.h (compatibility): the doubly linked list operations mjit.c uses. */
#ifndef CCAN_LIST_H
#define CCAN_LIST_H 1
#include <stdbool.h>
#include <stddef.h>

struct list_node { struct list_node *next, *prev; };
struct list_head { struct list_node n; };

#define LIST_HEAD_INIT(name) { { &(name).n, &(name).n } }
#define list_container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

static inline void list_head_init(struct list_head *h) { h->n.next = h->n.prev = &h->n; }
static inline bool list_empty(const struct list_head *h) { return h->n.next == &h->n; }
static inline void list_add_tail(struct list_head *h, struct list_node *n)
{
    n->next = &h->n;
    n->prev = h->n.prev;
    h->n.prev->next = n;
    h->n.prev = n;
}
static inline void list_del(struct list_node *n)
{
    n->next->prev = n->prev;
    n->prev->next = n->next;
    n->next = n->prev = NULL;
}

#define list_entry_or_null_(h, nodep, type, member) \
    ((nodep) == &(h)->n ? NULL : list_container_of(nodep, type, member))
#define list_for_each(h, i, member) \
    for ((i) = list_container_of((h)->n.next, __typeof__(*(i)), member); \
         &(i)->member != &(h)->n; \
         (i) = list_container_of((i)->member.next, __typeof__(*(i)), member))
#define list_for_each_safe(h, i, nxt, member) \
    for ((i) = list_container_of((h)->n.next, __typeof__(*(i)), member), \
         (nxt) = list_container_of((i)->member.next, __typeof__(*(i)), member); \
         &(i)->member != &(h)->n; \
         (i) = (nxt), (nxt) = list_container_of((i)->member.next, __typeof__(*(i)), member))
#endif
