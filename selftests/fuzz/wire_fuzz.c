// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the wire codec, both directions of the link, and the
 * handshake.  The first byte picks what the rest is:
 *
 *   bit 3 set: the handshake.  The rest is an INIT frame for a backup, a
 *     REPLY frame for a primary and a CONFIRM frame for the backup again,
 *     each checksummed by the harness if bit 0 is set; bit 1: both sides
 *     keyed (else insecure).  Whatever either side accepts must agree.
 *   else bit 2 picks the direction.  Clear: a stream of frames fed as the
 *     backup's receive path would, to one receiver state.  Set: a stream
 *     of headers fed as the primary's receive path would (a backup sends
 *     headers only; the payload a header announces is never read).
 *     Bit 0 says whether the harness makes each frame valid on the wire
 *     (lets the fuzzer past the checksum or the seal into the payload and
 *     state checks); bit 4 whether the link is sealed (a fixed key, as if
 *     a handshake had run: each frame is sealed by the harness, or, bit 0
 *     clear, the input's 16 bytes after it are its tag).
 *
 * Built with ASan and UBSan; `make fuzz` runs it for a bounded time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "useal.h"
#include "wire.h"

#define HDR	sizeof(struct kvm_ft_wire_hdr)
#define TAG	KVM_FT_WIRE_TAG_LEN

static const uint8_t key_p2b[32] = { 0x70, 0x32, 0x62 }, key_b2p[32] = { 0x62, 0x32, 0x70 };

/* Guest memory of two slots with a hole between them, as VMs have. */
static int gfn_valid(void *ctx, __u64 gfn)
{
	return gfn < 2048 || (gfn >= 0x40000 && gfn < 0x40000 + 2048);
}

/*
 * One frame off the wire into @hdr/@payload as the link reads it: made
 * valid (@valid: checksummed, or sealed then opened), or opened with the
 * tag the input gives.  0 if it got through; *@used: input bytes it took.
 */
static int take(struct useal *tx, struct useal *rx, int valid, uint8_t *hdr, uint8_t *payload,
		uint32_t len, const uint8_t *data, size_t size, size_t *used)
{
	uint8_t *frame;
	int ret = 0;

	*used = HDR + len;
	if (!tx->on) {
		if (valid)
			kvm_ft_wire_put_crc(hdr, payload);
		return 0;
	}
	if (!valid) {
		if (size < HDR + len + TAG)
			return -1;
		*used += TAG;
		return useal_open(rx, hdr, payload, len, data + HDR + len);
	}
	frame = malloc(HDR + len + TAG);
	memcpy(frame, hdr, HDR);
	if (len)
		memcpy(frame + HDR, payload, len);
	memset(frame + 12, 0, 4);		/* a sealed frame's crc is zero */
	useal_frame(tx, frame);
	ret = useal_open(rx, frame, frame + HDR, len, frame + HDR + len);
	memcpy(hdr, frame, HDR);
	if (len)
		memcpy(payload, frame + HDR, len);
	free(frame);
	return ret;
}

/* What a primary does with a backup's frames: each a header, nothing more. */
static void primary_rx(const uint8_t *data, size_t size, int valid, int sealed)
{
	struct useal tx = { 0 }, rx = { 0 };
	struct kvm_ft_wire_msg m;
	uint8_t hdr[HDR];
	size_t used;

	if (sealed) {
		useal_init(&tx, key_b2p, key_p2b);
		useal_init(&rx, key_p2b, key_b2p);
	}
	while (size >= HDR) {
		memcpy(hdr, data, HDR);
		if (kvm_ft_wire_decode_hdr(hdr, &m) || m.len)
			break;
		if (take(&tx, &rx, valid, hdr, NULL, 0, data, size, &used) ||
		    kvm_ft_wire_decode_reply(hdr, sealed, &m))
			break;
		if (m.len || (m.type != KVM_FT_WIRE_ACK && m.type != KVM_FT_WIRE_HEARTBEAT))
			abort();	/* accepted what a backup never sends */
		data += used;
		size -= used;
	}
}

/* A VCPU frame's state as the backup decodes it: what it took, it gives back. */
static void vcpu_state(const uint8_t *p, uint32_t len)
{
	static struct kvm_ft_arch_vcpu st;
	static uint8_t again[KVM_FT_WIRE_VCPU_MAX];

	if (kvm_ft_wire_get_vcpu(p, len, &st))
		return;
	if (kvm_ft_wire_put_vcpu(again, &st) != len || memcmp(again, p, len))
		abort();	/* decoded to something else than was sent */
}

/*
 * A DELTA's pages, each applied as a backup would, to a page whose
 * checksum is its base (else it is refused unapplied): every run stays
 * in the page, and a page it made has the checksum it said.
 */
static void delta_pages(const struct kvm_ft_wire_msg *m)
{
	static uint8_t page[KVM_FT_WIRE_PAGE_SIZE], before[KVM_FT_WIRE_PAGE_SIZE];
	struct kvm_ft_wire_delta_page d;
	__u32 i, pos = 0;
	int err;

	for (i = 0; i < m->delta.count; i++) {
		pos = kvm_ft_wire_delta_get(m, pos, &d);
		if (!gfn_valid(NULL, d.gfn))
			abort();
		memset(page, (uint8_t)d.gfn, sizeof(page));
		memcpy(before, page, sizeof(page));
		err = kvm_ft_wire_delta_apply(page, &d);
		if (err == KVM_FT_WIRE_OK && kvm_ft_wire_page_crc(page) != d.crc)
			abort();
		if (err && kvm_ft_wire_page_crc(before) != d.base && memcmp(page, before, sizeof(page)))
			abort();	/* refused for its base, yet written */
	}
	if (pos != m->len - sizeof(struct kvm_ft_wire_pages))
		abort();		/* the pages did not cover the frame */
}

/*
 * A VCPU_DELTA applied as a backup would, to a state of exactly its size
 * (ASan sees a run past it): refused, unwritten, against another epoch's
 * state; applied against its own, what it makes is decoded as a state.
 */
static void vcpu_delta(const struct kvm_ft_wire_msg *m)
{
	uint32_t size = m->vcpu_delta.size;
	uint8_t *state = malloc(size), *before = malloc(size);

	memset(state, 0x3c, size);
	memcpy(before, state, size);
	if (kvm_ft_wire_vcpu_delta_apply(state, size, m->vcpu_delta.base + 1, m) !=
	    KVM_FT_WIRE_E_DELTA || memcmp(state, before, size))
		abort();	/* applied to a base it was not made against */
	if (kvm_ft_wire_vcpu_delta_apply(state, size, m->vcpu_delta.base, m))
		abort();	/* decoded, yet not applicable to its own base */
	vcpu_state(state, size);
	free(before);
	free(state);
}

/*
 * A DEVICE_DELTA applied as a backup would, to a blob of exactly its size
 * (ASan sees a run past it): refused, unwritten, against another epoch's
 * blob; applied against its own.  The size is a header field (up to
 * 16 MiB whatever the input's length): two such blobs per frame would
 * slow the fuzzer, so a delta for a blob past 1 MiB is only decoded.
 */
static void device_delta(const struct kvm_ft_wire_msg *m)
{
	uint32_t size = m->device_delta.size;
	uint8_t *blob, *before;

	if (size > (1u << 20))
		return;
	blob = malloc(size);
	before = malloc(size);
	if (!blob || !before)
		abort();
	memset(blob, 0xa5, size);
	memcpy(before, blob, size);
	if (kvm_ft_wire_device_delta_apply(blob, size, m->device_delta.base + 1, m) !=
	    KVM_FT_WIRE_E_DELTA ||
	    kvm_ft_wire_device_delta_apply(blob, size - 1, m->device_delta.base, m) !=
	    KVM_FT_WIRE_E_DELTA || memcmp(blob, before, size))
		abort();	/* applied to a base it was not made against */
	if (kvm_ft_wire_device_delta_apply(blob, size, m->device_delta.base, m))
		abort();	/* decoded, yet not applicable to its own base */
	free(before);
	free(blob);
}

/* What a backup does with a primary's frames. */
static void backup_rx(const uint8_t *data, size_t size, int valid, int sealed, int device)
{
	struct kvm_ft_wire_rx rx = { .mem_pages = 4096, .nr_vcpus = 4, .gfn_valid = gfn_valid,
				     .features = KVM_FT_WIRE_FEAT_ALL };
	struct useal tx = { 0 }, rxs = { 0 };
	struct kvm_ft_wire_msg m;
	uint8_t hdr[HDR];
	size_t used;

	rx.flags = device ? KVM_FT_WIRE_HELLO_F_DEVICE : 0;	/* both kinds of VM */
	if (sealed) {
		useal_init(&tx, key_p2b, key_b2p);
		useal_init(&rxs, key_b2p, key_p2b);
	}
	while (size >= HDR) {
		uint8_t *payload;
		int ok;
		__u32 i;

		memcpy(hdr, data, HDR);
		if (kvm_ft_wire_decode_hdr(hdr, &m) || m.len > size - HDR)
			break;
		/* An exact-size copy, so ASan sees any read past the payload. */
		payload = malloc(m.len ? m.len : 1);
		memcpy(payload, data + HDR, m.len);
		ok = !take(&tx, &rxs, valid, hdr, payload, m.len, data, size, &used);
		if (ok && !kvm_ft_wire_decode(hdr, payload, sealed, &m) && !kvm_ft_wire_rx(&rx, &m)) {
			if (m.type == KVM_FT_WIRE_PAGES)
				for (i = 0; i < m.pages.count; i++)
					if (!gfn_valid(NULL, kvm_ft_wire_gfn(&m, i)))
						abort();	/* a frame outside memory */
			if (m.type == KVM_FT_WIRE_VCPU)
				vcpu_state(m.vcpu.state, m.vcpu.size);
			if (m.type == KVM_FT_WIRE_DELTA)
				delta_pages(&m);
			if (m.type == KVM_FT_WIRE_VCPU_DELTA)
				vcpu_delta(&m);
			if (m.type == KVM_FT_WIRE_DEVICE_DELTA)
				device_delta(&m);
		}
		free(payload);
		if (!ok)
			break;
		data += used;
		size -= used;
	}
}

/* The next handshake frame of the input, exactly as long as its header says. */
static const uint8_t *hs_frame(const uint8_t **data, size_t *size, int valid)
{
	static uint8_t f[KVM_FT_WIRE_HS_FRAME];
	struct kvm_ft_wire_msg m;

	if (*size < HDR)
		return NULL;
	memcpy(f, *data, HDR);
	if (kvm_ft_wire_decode_hdr(f, &m) || m.len > sizeof(f) - HDR || m.len > *size - HDR)
		return NULL;
	memcpy(f + HDR, *data + HDR, m.len);
	if (valid)
		kvm_ft_wire_put_crc(f, f + HDR);
	*data += HDR + m.len;
	*size -= HDR + m.len;
	return f;
}

static void handshake(const uint8_t *data, size_t size, int valid, int keyed)
{
	struct kvm_ft_wire_hs p = { .keyed = keyed, .features = KVM_FT_WIRE_FEAT_ALL };
	struct kvm_ft_wire_hs b = { .keyed = keyed, .features = KVM_FT_WIRE_FEAT_ALL };
	uint8_t out[KVM_FT_WIRE_HS_FRAME], init[KVM_FT_WIRE_HS_FRAME];
	const uint8_t *f;
	__u32 len;
	int backup_ok;

	memset(p.key, 7, sizeof(p.key));
	memset(b.key, 7, sizeof(b.key));
	memset(b.nonce, 9, sizeof(b.nonce));
	strcpy(p.name, "p");
	strcpy(b.name, "b");
	kvm_ft_wire_hs_init(&p, init);		/* the primary's side of it */
	f = hs_frame(&data, &size, valid);
	backup_ok = f && !kvm_ft_wire_hs_reply(&b, f, f + HDR, out, &len);
	/*
	 * The input holds no key: neither side may take its proof for one
	 * (a REPLY to the primary's INIT, a CONFIRM to the backup's REPLY).
	 */
	f = hs_frame(&data, &size, valid);
	if (f && !kvm_ft_wire_hs_confirm(&p, f, f + HDR, out, &len) &&
	    !kvm_ft_wire_hs_proven(&p) && keyed)
		abort();
	f = hs_frame(&data, &size, valid);
	if (backup_ok && f && !kvm_ft_wire_hs_done(&b, f, f + HDR) && keyed)
		abort();
	kvm_ft_wire_hs_wipe(&p);
	kvm_ft_wire_hs_wipe(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode;

	if (!size)
		return 0;
	mode = data[0];
	data++, size--;
	if (mode & 8)
		handshake(data, size, mode & 1, mode & 2);
	else if (mode & 4)
		primary_rx(data, size, mode & 1, !!(mode & 16));
	else
		backup_rx(data, size, mode & 1, !!(mode & 16), mode & 2);
	return 0;
}
