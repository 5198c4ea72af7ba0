/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The records of stream_test's two TCP streams, shared by the client
 * (stream_test.c) and the guest's service (guest/tcpsvc.c): each record is
 * STREAM_REC bytes, its first eight its index (little-endian), every other
 * byte a function of the index and the byte's place.  A lost, duplicated,
 * reordered or corrupted byte makes some record differ from what its
 * index says it must be.
 *
 * STREAM_ECHO_PORT: the guest sends back every byte it receives.
 * STREAM_SOURCE_PORT: the client sends nothing but an eight-byte count;
 *   the guest sends that many records, from index 0.
 */
#ifndef CUJU_SELFTEST_STREAM_H
#define CUJU_SELFTEST_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STREAM_ECHO_PORT	7000
#define STREAM_SOURCE_PORT	7001
#define STREAM_REC		1024

static inline uint8_t stream_byte(uint64_t index, size_t at)
{
	uint64_t x = (index + 1) * 0x9e3779b97f4a7c15ull + at * 0xbf58476d1ce4e5b9ull;

	return (uint8_t)((x ^ (x >> 29)) >> 17);
}

/* Record @index into @rec (STREAM_REC bytes). */
static inline void stream_record(uint64_t index, uint8_t *rec)
{
	size_t i;

	for (i = 0; i < 8; i++)
		rec[i] = (uint8_t)(index >> (8 * i));
	for (; i < STREAM_REC; i++)
		rec[i] = stream_byte(index, i);
}

/* Whether @rec is record @index. */
static inline bool stream_record_ok(uint64_t index, const uint8_t *rec)
{
	size_t i;

	for (i = 0; i < 8; i++)
		if (rec[i] != (uint8_t)(index >> (8 * i)))
			return false;
	for (; i < STREAM_REC; i++)
		if (rec[i] != stream_byte(index, i))
			return false;
	return true;
}

#endif /* CUJU_SELFTEST_STREAM_H */
