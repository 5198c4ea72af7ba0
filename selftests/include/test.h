/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kselftest harness of the kernel these tests run against, with a
 * per-test timeout that suits test hosts under emulation (TCG runs nested
 * guests far slower than hardware).
 */
#ifndef CUJU_SELFTEST_TEST_H
#define CUJU_SELFTEST_TEST_H

#include "kselftest_harness.h"

#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 300

#endif /* CUJU_SELFTEST_TEST_H */
