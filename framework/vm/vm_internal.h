/* Error and progress reporting inside vm/. */
#ifndef TH_VM_INTERNAL_H
#define TH_VM_INTERNAL_H
#include "vm.h"

/* Writes the message into vc and returns rc (a negative errno). */
int th_vm_fail(th_vm_ctx *vc, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void th_vm_progress(th_vm_ctx *vc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
