/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) WITH Linux-syscall-note */
/*
 * TEST BUILDS ONLY. A module built with KPL_TESTING=1 (only
 * scripts/kernel-test.sh does that; scripts/kernel-build.sh and DKMS
 * refuse to) accepts one more ioctl: load an object WITHOUT running the
 * verifier. The kernel test uses it to load objects that a sound verifier
 * refuses -- loops that ignore their fuel -- and to check that the
 * watchdog stops them anyway. Such a module taints the kernel (TAINT_TEST)
 * and says so in its .modinfo (kpl_testing=) and in /proc/kpl.
 *
 * Shared by kpl_main.c and tests/kpl-test-load.c.
 */
#ifndef KPL_TESTING_H
#define KPL_TESTING_H

#include "uapi/kpl.h"

/* Same struct as KPL_IOC_LOAD; err_stage 2 (verify) never happens. */
#define KPL_IOC_TEST_LOAD_UNVERIFIED _IOWR(KPL_IOC_MAGIC, 0x7f, struct kpl_load)

#endif
