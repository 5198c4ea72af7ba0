// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the wire codec, both directions of the link.  The
 * first byte's bit 2 picks the direction.  Clear: the input is a stream of
 * frames fed as the backup's receive path would, to one receiver state.
 * Set: a stream of headers fed as the primary's receive path would (a
 * backup sends headers only; the payload a header announces is never
 * read).  Bit 0 says whether the harness seals each frame (a valid CRC
 * lets the fuzzer past the checksum into the payload and state checks).
 * Built with ASan and UBSan; `make fuzz` runs it for a bounded time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define HDR sizeof(struct kvm_ft_wire_hdr)

/* Guest memory of two slots with a hole between them, as VMs have. */
static int gfn_valid(void *ctx, __u64 gfn)
{
	return gfn < 2048 || (gfn >= 0x40000 && gfn < 0x40000 + 2048);
}

/* What a primary does with a backup's frames: each a header, nothing more. */
static void primary_rx(const uint8_t *data, size_t size, int seal)
{
	struct kvm_ft_wire_msg m;
	uint8_t hdr[HDR];

	for (; size >= HDR; data += HDR, size -= HDR) {
		memcpy(hdr, data, HDR);
		if (seal && !kvm_ft_wire_decode_hdr(hdr, &m) && !m.len)
			kvm_ft_wire_seal(hdr, NULL);
		if (kvm_ft_wire_decode_reply(hdr, &m))
			break;
		if (m.len || (m.type != KVM_FT_WIRE_ACK && m.type != KVM_FT_WIRE_HEARTBEAT))
			abort();	/* accepted what a backup never sends */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kvm_ft_wire_rx rx = { .mem_pages = 4096, .nr_vcpus = 4, .gfn_valid = gfn_valid };
	struct kvm_ft_wire_msg m;
	uint8_t hdr[HDR];
	int seal;

	if (!size)
		return 0;
	seal = data[0] & 1;
	rx.flags = data[0] & 2 ? KVM_FT_WIRE_HELLO_F_DEVICE : 0;	/* both kinds of VM */
	data++, size--;
	if (data[-1] & 4) {
		primary_rx(data, size, seal);
		return 0;
	}

	while (size >= HDR) {
		uint8_t *payload;
		__u32 i;

		memcpy(hdr, data, HDR);
		if (kvm_ft_wire_decode_hdr(hdr, &m) || m.len > size - HDR)
			break;
		/* An exact-size copy, so ASan sees any read past the payload. */
		payload = malloc(m.len ? m.len : 1);
		memcpy(payload, data + HDR, m.len);
		if (seal)
			kvm_ft_wire_seal(hdr, payload);
		if (!kvm_ft_wire_decode(hdr, payload, &m) && !kvm_ft_wire_rx(&rx, &m) &&
		    m.type == KVM_FT_WIRE_PAGES)
			for (i = 0; i < m.pages.count; i++)
				if (!gfn_valid(NULL, kvm_ft_wire_gfn(&m, i)))
					abort();	/* accepted a frame outside memory */
		free(payload);
		data += HDR + m.len;
		size -= HDR + m.len;
	}
	return 0;
}
