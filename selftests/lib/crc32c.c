// SPDX-License-Identifier: GPL-2.0
/* Bitwise CRC-32C, reflected polynomial 0x82f63b78: small and obviously right. */
#include "crc32c.h"

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int k;

	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0x82f63b78 & -(crc & 1));
	}
	return crc;
}

/* What the wire codec (kernel/wire.c) calls for it, built in user space. */
uint32_t kvm_ft_crc32c(uint32_t crc, const void *buf, unsigned long len)
{
	return crc32c(crc, buf, len);
}

/* The same over @len zero bytes, one at a time: tests have the time. */
uint32_t kvm_ft_crc32c_shift(uint32_t crc, unsigned long len)
{
	static const uint8_t zero[256];

	for (; len > sizeof(zero); len -= sizeof(zero))
		crc = crc32c(crc, zero, sizeof(zero));
	return crc32c(crc, zero, len);
}
