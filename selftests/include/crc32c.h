/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CUJU_SELFTEST_CRC32C_H
#define CUJU_SELFTEST_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C (Castagnoli), as the kernel's crc32c(): chain with the last value. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
