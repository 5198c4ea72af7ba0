/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A client of the guest's TCP service (guest/tcpsvc.c, include/stream.h)
 * on a trio's host c, and the notes the three hosts send each other on
 * the guests' segment: what stream_test and net_bench_test share.
 */
#ifndef CUJU_SELFTEST_FLOW_H
#define CUJU_SELFTEST_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream.h"

#define FLOW_CLIENT_IP	"10.78.0.100"	/* host c, on br0 */
#define FLOW_A_IP	"10.78.0.11"	/* host a's br0 (selftests/testbed/host.sh) */
#define FLOW_B_IP	"10.78.0.12"	/* host b's br0 */
#define FLOW_NOTE_PORT	7990		/* UDP, on every host of a trio */
#define FLOW_PHASES	3

/* One stream as the client sees it: records out and in, stalls. */
struct flow {
	const char *name;
	int fd;
	int phase;			/* the caller's: where the bytes read count */
	uint64_t sent, got;		/* bytes */
	uint64_t phase_got[FLOW_PHASES];
	uint8_t in[STREAM_REC];		/* the record being read */
	size_t in_len;
	uint8_t out[STREAM_REC];	/* the record being written */
	size_t out_len, out_off;
	double first, last;		/* when bytes were first and last read */
	double stall, stall_at;		/* the longest gap between reads, and its start */
	double phase_stall[FLOW_PHASES];	/* the longest gap that ended in each phase */
	uint64_t bad;			/* index of the first wrong record + 1; 0: none */
	int err;			/* errno of a failed read or write */
	bool eof;
};

/* Seconds on CLOCK_MONOTONIC. */
double flow_now(void);
/*
 * @f connected to the guest's @port (non-blocking), within @wait_s; for
 * the source, @records asked for.  False if not.
 */
bool flow_connect(struct flow *f, const char *name, int port, uint64_t records, int wait_s);
/* What can be read now, checked record by record. */
void flow_read(struct flow *f);
/* The next record's bytes, as many as the socket takes now. */
void flow_write(struct flow *f);

/* A UDP socket bound to FLOW_NOTE_PORT, or -1. */
int flow_note_socket(void);
/* @what to @ip's note socket, three times (the segment may drop one). */
void flow_note(const char *ip, const char *what);
/* A note into @buf within @wait_s seconds (0: only one already there). */
bool flow_note_wait(int fd, char *buf, size_t len, int wait_s);
/* A note that starts with @want into @buf within @wait_s seconds; others are read away. */
bool flow_note_for(int fd, const char *want, char *buf, size_t len, int wait_s);
/* Read away the notes that came (late copies of earlier ones). */
void flow_note_drain(int fd);

#endif /* CUJU_SELFTEST_FLOW_H */
