/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Cuju: fault tolerance for KVM virtual machines.
 *
 * The one header shared by the engine in kvm.ko, ftnl, the QEMU patch and
 * the selftests.  It holds only what is implemented; every name carries the
 * KVM_FT_ prefix.
 *
 * Global defaults (sysfs)
 * -----------------------
 * KVM_FT_SYSFS_DIR holds one file per default, each a decimal unsigned
 * integer.  A write is taken whole or refused with EINVAL, leaving the old
 * value: no number, trailing garbage, a sign, or a value outside [MIN, MAX].
 *
 *   epoch_us   length of an epoch in microseconds: how much guest execution
 *              one checkpoint covers, and so the most output commit delays
 *              a packet by, plus transfer time.
 *
 * Documentation/ABI/testing/sysfs-kernel-kvm_ft describes each file.
 */
#ifndef _UAPI_LINUX_KVM_FT_H
#define _UAPI_LINUX_KVM_FT_H

#define KVM_FT_SYSFS_DIR		"/sys/kernel/kvm_ft"

#define KVM_FT_EPOCH_US_DEFAULT		10000U		/* 10 ms */
#define KVM_FT_EPOCH_US_MIN		1000U		/* 1 ms */
#define KVM_FT_EPOCH_US_MAX		2000000U	/* 2 s */

#endif /* _UAPI_LINUX_KVM_FT_H */
