/* The kernel's target_core_user UAPI, made to coexist with <sys/uio.h>: its
 * <linux/uio.h> would define struct iovec a second time. */
#ifndef TH_TCMU_UAPI_H
#define TH_TCMU_UAPI_H
#include <sys/uio.h>
#ifndef __LINUX_UIO_H
#define __LINUX_UIO_H
#endif
#include <linux/target_core_user.h>
#endif
