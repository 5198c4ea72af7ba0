/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The link's crypto in user space, from OpenSSL's libcrypto: what
 * kernel/seal.c does with the kernel's crypto API, for tests and the
 * fuzzer that speak the protocol with kernel/wire.c.  Also the hashes
 * wire.c's handshake asks its environment for (wire.h).
 */
#ifndef CUJU_SELFTEST_USEAL_H
#define CUJU_SELFTEST_USEAL_H

#include <stddef.h>
#include <stdint.h>

/* One connection's two directions; @on 0: insecure, frames checksummed. */
struct useal {
	int on;
	uint8_t tx_key[32], rx_key[32];
	uint64_t tx_seq, rx_seq;
};

void useal_init(struct useal *s, const uint8_t *tx_key, const uint8_t *rx_key);
/*
 * The frame at @frame (a header whose len says how much payload follows
 * it) readied in place for the wire: sealed, its tag appended, or given
 * its checksum.  Its length on the wire.
 */
size_t useal_frame(struct useal *s, uint8_t *frame);
/* Open a sealed frame in place (@tag after the payload): 0, or -1: refused. */
int useal_open(struct useal *s, const uint8_t *hdr, uint8_t *payload, uint32_t len,
	       const uint8_t *tag);

#endif /* CUJU_SELFTEST_USEAL_H */
