/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Force-included (-include) into every file of the kernel's own KVM
 * selftests that `make kvm-selftests` builds from linux-source-6.1.
 * Two stable backports in Debian's 6.1 tree do not build as shipped:
 *
 * - steal_time.c includes <asm/kvm.h> first; that header now uses
 *   __DECLARE_FLEX_ARRAY() but relies on <linux/types.h> for
 *   <linux/stddef.h>, and the selftests' own tools/include/linux/types.h
 *   does not include it;
 * - dirty_log_test.c calls TEST_ASSERT_EQ(), which 6.1's test_util.h
 *   does not have (it came with the backported fix, not its helper).
 */
#ifndef __ASSEMBLER__
#include <linux/stddef.h>

#ifndef TEST_ASSERT_EQ
#define TEST_ASSERT_EQ(a, b)						\
	TEST_ASSERT((a) == (b), "%s == %s: %lld != %lld", #a, #b,	\
		    (long long)(a), (long long)(b))
#endif
#endif /* __ASSEMBLER__ */
