/* tcmu-harness: everything. */
#ifndef TH_TH_H
#define TH_TH_H
#include "th/backend.h"
#include "th/cdb.h"
#include "th/cmd.h"
#include "th/ctx.h"
#include "th/device.h"
#include "th/disk.h"
#include "th/fake.h"
#include "th/fake_kernel.h"
#include "th/iscsi.h"
#include "th/log.h"
#include "th/rules.h"
#include "th/sense.h"
#include "th/tape.h"
#include "th/version.h"
#include "th/wwn.h"
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)
#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
