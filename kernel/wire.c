// SPDX-License-Identifier: GPL-2.0
/*
 * The wire codec (see wire.h and Documentation/wire-protocol.rst).
 *
 * Everything here treats its input as hostile: every length is checked
 * before anything is read through it, and a frame is checked whole before
 * the caller acts on any part of it.  Integers are read byte by byte, so the
 * code depends neither on the host's byte order nor on alignment.
 */
#ifdef __KERNEL__
#include <linux/crc32c.h>
#include <linux/string.h>
#else
#include <string.h>
unsigned int crc32c(unsigned int crc, const void *buf, unsigned long len);
#endif

#include "wire.h"

#define HDR_LEN		sizeof(struct kvm_ft_wire_hdr)
#define CRC_OFF		12	/* offsetof(struct kvm_ft_wire_hdr, crc) */

static __u32 get_le16(const __u8 *p)
{
	return p[0] | p[1] << 8;
}

static __u32 get_le32(const __u8 *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (__u32)p[3] << 24;
}

static __u64 get_le64(const __u8 *p)
{
	return get_le32(p) | (__u64)get_le32(p + 4) << 32;
}

void kvm_ft_wire_put_le32(void *p, __u32 v)
{
	__u8 *b = p;

	b[0] = v;
	b[1] = v >> 8;
	b[2] = v >> 16;
	b[3] = v >> 24;
}

void kvm_ft_wire_put_le64(void *p, __u64 v)
{
	kvm_ft_wire_put_le32(p, v);
	kvm_ft_wire_put_le32((__u8 *)p + 4, v >> 32);
}

static const char *const errors[KVM_FT_WIRE_E_MAX] = {
	[KVM_FT_WIRE_OK]	 = "ok",
	[KVM_FT_WIRE_E_MAGIC]	 = "bad magic",
	[KVM_FT_WIRE_E_VERSION]	 = "unsupported version",
	[KVM_FT_WIRE_E_TYPE]	 = "unknown frame type",
	[KVM_FT_WIRE_E_RESERVED] = "reserved field set",
	[KVM_FT_WIRE_E_LEN]	 = "bad length",
	[KVM_FT_WIRE_E_CRC]	 = "checksum mismatch",
	[KVM_FT_WIRE_E_SHAPE]	 = "VM shape mismatch",
	[KVM_FT_WIRE_E_ORDER]	 = "frame out of order",
	[KVM_FT_WIRE_E_EPOCH]	 = "epoch out of sequence",
	[KVM_FT_WIRE_E_GFN]	 = "guest frame out of range",
	[KVM_FT_WIRE_E_VCPU]	 = "vCPU index out of range",
	[KVM_FT_WIRE_E_TOTALS]	 = "epoch totals mismatch",
	[KVM_FT_WIRE_E_TRUNCATED] = "stream truncated",
	[KVM_FT_WIRE_E_IO]	 = "socket error",
	[KVM_FT_WIRE_E_SILENCE]	 = "peer silent beyond the failover timeout",
	[KVM_FT_WIRE_E_SNAPSHOT] = "epoch could not be taken",
	[KVM_FT_WIRE_E_NOMEM]	 = "out of memory staging an epoch",
	[KVM_FT_WIRE_E_VERIFY]	 = "memory differs from the primary's",
	[KVM_FT_WIRE_E_LAYOUT]	 = "the VM's memory layout changed (a memslot added, removed or re-flagged)",
	[KVM_FT_WIRE_E_MACHINE]	 = "the VMMs built different machines (their devices differ)",
};

const char *kvm_ft_wire_strerror(int err)
{
	return err >= 0 && err < KVM_FT_WIRE_E_MAX ? errors[err] : "unknown error";
}

void kvm_ft_wire_put_hdr(void *hdr, __u8 type, __u64 epoch, __u32 len)
{
	__u8 *h = hdr;

	memset(h, 0, HDR_LEN);
	kvm_ft_wire_put_le32(h, KVM_FT_WIRE_MAGIC);
	h[4] = KVM_FT_WIRE_VERSION;
	h[5] = type;
	kvm_ft_wire_put_le32(h + 8, len);
	kvm_ft_wire_put_le64(h + 16, epoch);
}

/* CRC-32C of the header with its crc field taken as zero, then the payload. */
static __u32 frame_crc(const __u8 *h, const void *payload, __u32 len)
{
	static const __u8 zero[4];
	__u32 crc = ~0u;

	crc = crc32c(crc, h, CRC_OFF);
	crc = crc32c(crc, zero, sizeof(zero));
	crc = crc32c(crc, h + CRC_OFF + 4, HDR_LEN - CRC_OFF - 4);
	if (len)
		crc = crc32c(crc, payload, len);
	return ~crc;
}

void kvm_ft_wire_seal(void *hdr, const void *payload)
{
	__u8 *h = hdr;

	kvm_ft_wire_put_le32(h + CRC_OFF, frame_crc(h, payload, get_le32(h + 8)));
}

/* The payload length each type allows: [min, max]. */
static int len_ok(__u8 type, __u32 len)
{
	switch (type) {
	case KVM_FT_WIRE_HELLO:
		return len == sizeof(struct kvm_ft_wire_hello);
	case KVM_FT_WIRE_EPOCH_BEGIN:
	case KVM_FT_WIRE_ACK:
	case KVM_FT_WIRE_HEARTBEAT:
		return len == 0;
	case KVM_FT_WIRE_PAGES:
		return len > sizeof(struct kvm_ft_wire_pages) &&
		       len <= sizeof(struct kvm_ft_wire_pages) +
			      KVM_FT_WIRE_MAX_PAGES * (8 + KVM_FT_WIRE_PAGE_SIZE);
	case KVM_FT_WIRE_VCPU:
		return len > sizeof(struct kvm_ft_wire_vcpu) &&
		       len <= sizeof(struct kvm_ft_wire_vcpu) + KVM_FT_WIRE_MAX_VCPU_STATE;
	case KVM_FT_WIRE_DEVICE:
		return len > 0 && len <= KVM_FT_WIRE_MAX_DEVICE;
	case KVM_FT_WIRE_EPOCH_END:
		return len == sizeof(struct kvm_ft_wire_epoch_end);
	case KVM_FT_WIRE_VERIFY:
		return len == sizeof(struct kvm_ft_wire_verify);
	}
	return 0;
}

int kvm_ft_wire_decode_hdr(const void *hdr, struct kvm_ft_wire_msg *m)
{
	const __u8 *h = hdr;

	if (get_le32(h) != KVM_FT_WIRE_MAGIC)
		return KVM_FT_WIRE_E_MAGIC;
	if (h[4] != KVM_FT_WIRE_VERSION)
		return KVM_FT_WIRE_E_VERSION;
	if (h[5] < KVM_FT_WIRE_HELLO || h[5] > KVM_FT_WIRE_VERIFY)
		return KVM_FT_WIRE_E_TYPE;
	if (get_le16(h + 6))
		return KVM_FT_WIRE_E_RESERVED;
	m->type = h[5];
	m->len = get_le32(h + 8);
	m->epoch = get_le64(h + 16);
	return len_ok(m->type, m->len) ? KVM_FT_WIRE_OK : KVM_FT_WIRE_E_LEN;
}

static int decode_hello(const __u8 *p, struct kvm_ft_wire_msg *m)
{
	const int name_off = 16, machine_off = name_off + KVM_FT_NAME_LEN;

	m->hello.mem_pages = get_le64(p);
	m->hello.nr_vcpus = get_le32(p + 8);
	m->hello.flags = get_le32(p + 12);
	if (m->hello.flags & ~KVM_FT_WIRE_HELLO_F_ALL)
		return KVM_FT_WIRE_E_RESERVED;
	memcpy(m->hello.name, p + name_off, KVM_FT_NAME_LEN);
	if (m->hello.name[KVM_FT_NAME_LEN - 1])
		return KVM_FT_WIRE_E_LEN;	/* not NUL-terminated */
	m->hello.machine = get_le32(p + machine_off);
	if (get_le32(p + machine_off + 4))
		return KVM_FT_WIRE_E_RESERVED;
	return KVM_FT_WIRE_OK;
}

static int decode_pages(const __u8 *p, struct kvm_ft_wire_msg *m)
{
	__u32 count = get_le32(p);

	if (get_le32(p + 4))
		return KVM_FT_WIRE_E_RESERVED;
	/* count is checked before the multiplication: no overflow. */
	if (!count || count > KVM_FT_WIRE_MAX_PAGES ||
	    m->len != 8 + count * (8 + KVM_FT_WIRE_PAGE_SIZE))
		return KVM_FT_WIRE_E_LEN;
	m->pages.count = count;
	m->pages.gfns = p + 8;
	m->pages.data = p + 8 + count * 8;
	return KVM_FT_WIRE_OK;
}

static int decode_vcpu(const __u8 *p, struct kvm_ft_wire_msg *m)
{
	m->vcpu.index = get_le32(p);
	m->vcpu.size = get_le32(p + 4);
	m->vcpu.state = p + 8;
	return m->vcpu.size && m->len == 8 + m->vcpu.size ?
	       KVM_FT_WIRE_OK : KVM_FT_WIRE_E_LEN;
}

int kvm_ft_wire_decode(const void *hdr, const void *payload, struct kvm_ft_wire_msg *m)
{
	const __u8 *p = payload;
	int err;

	err = kvm_ft_wire_decode_hdr(hdr, m);
	if (err)
		return err;
	/* A length the header allows, but no payload given for it: refused unread. */
	if (m->len && !payload)
		return KVM_FT_WIRE_E_LEN;
	if (get_le32((const __u8 *)hdr + CRC_OFF) != frame_crc(hdr, payload, m->len))
		return KVM_FT_WIRE_E_CRC;

	switch (m->type) {
	case KVM_FT_WIRE_HELLO:
		return decode_hello(p, m);
	case KVM_FT_WIRE_PAGES:
		return decode_pages(p, m);
	case KVM_FT_WIRE_VCPU:
		return decode_vcpu(p, m);
	case KVM_FT_WIRE_DEVICE:
		m->device.data = p;
		return KVM_FT_WIRE_OK;
	case KVM_FT_WIRE_EPOCH_END:
		m->end.nr_pages = get_le64(p);
		m->end.nr_vcpus = get_le32(p + 8);
		m->end.device_len = get_le32(p + 12);
		return KVM_FT_WIRE_OK;
	case KVM_FT_WIRE_VERIFY:
		m->verify.crc = get_le32(p);
		return get_le32(p + 4) ? KVM_FT_WIRE_E_RESERVED : KVM_FT_WIRE_OK;
	}
	return KVM_FT_WIRE_OK;		/* empty payloads */
}

int kvm_ft_wire_decode_reply(const void *hdr, struct kvm_ft_wire_msg *m)
{
	int err = kvm_ft_wire_decode_hdr(hdr, m);

	if (err)
		return err;
	if (m->type != KVM_FT_WIRE_ACK && m->type != KVM_FT_WIRE_HEARTBEAT)
		return KVM_FT_WIRE_E_ORDER;
	return kvm_ft_wire_decode(hdr, NULL, m);
}

__u64 kvm_ft_wire_gfn(const struct kvm_ft_wire_msg *m, __u32 i)
{
	return get_le64(m->pages.gfns + 8 * i);
}

static int rx_pages(struct kvm_ft_wire_rx *rx, const struct kvm_ft_wire_msg *m)
{
	__u32 i;

	for (i = 0; i < m->pages.count; i++)
		if (!rx->gfn_valid(rx->ctx, kvm_ft_wire_gfn(m, i)))
			return KVM_FT_WIRE_E_GFN;
	rx->pages += m->pages.count;
	return KVM_FT_WIRE_OK;
}

static int rx_end(struct kvm_ft_wire_rx *rx, const struct kvm_ft_wire_msg *m)
{
	if (m->end.nr_pages != rx->pages || m->end.nr_vcpus != rx->vcpus ||
	    m->end.device_len != rx->device_len)
		return KVM_FT_WIRE_E_TOTALS;
	rx->in_epoch = 0;
	rx->last_epoch = m->epoch;
	return KVM_FT_WIRE_OK;
}

/*
 * The order a primary sends in: HELLO once, then epochs numbered from 1 up
 * without gaps, each EPOCH_BEGIN, any PAGES/VCPU/DEVICE/VERIFY, EPOCH_END.
 * HEARTBEAT may come anywhere; ACK never comes to a receiver of epochs.
 */
int kvm_ft_wire_rx(struct kvm_ft_wire_rx *rx, const struct kvm_ft_wire_msg *m)
{
	if (m->type == KVM_FT_WIRE_HEARTBEAT)
		return KVM_FT_WIRE_OK;
	if (m->type == KVM_FT_WIRE_HELLO) {
		if (rx->hello_seen)
			return KVM_FT_WIRE_E_ORDER;
		if (m->hello.mem_pages != rx->mem_pages || m->hello.nr_vcpus != rx->nr_vcpus ||
		    m->hello.flags != rx->flags)
			return KVM_FT_WIRE_E_SHAPE;
		if (m->hello.machine != rx->machine)
			return KVM_FT_WIRE_E_MACHINE;
		rx->hello_seen = 1;
		return KVM_FT_WIRE_OK;
	}
	if (!rx->hello_seen || m->type == KVM_FT_WIRE_ACK)
		return KVM_FT_WIRE_E_ORDER;
	if (m->type == KVM_FT_WIRE_EPOCH_BEGIN) {
		if (rx->in_epoch)
			return KVM_FT_WIRE_E_ORDER;
		if (m->epoch != rx->last_epoch + 1)
			return KVM_FT_WIRE_E_EPOCH;
		rx->in_epoch = 1;
		rx->pages = rx->vcpus = rx->device_len = 0;
		rx->verify_seen = 0;
		return KVM_FT_WIRE_OK;
	}
	if (!rx->in_epoch)
		return KVM_FT_WIRE_E_ORDER;
	if (m->epoch != rx->last_epoch + 1)
		return KVM_FT_WIRE_E_EPOCH;

	switch (m->type) {
	case KVM_FT_WIRE_PAGES:
		return rx_pages(rx, m);
	case KVM_FT_WIRE_VCPU:
		if (m->vcpu.index >= rx->nr_vcpus)
			return KVM_FT_WIRE_E_VCPU;
		rx->vcpus++;
		return KVM_FT_WIRE_OK;
	case KVM_FT_WIRE_DEVICE:
		/* One blob per epoch, from a VM that said it has devices. */
		if (rx->device_len || !(rx->flags & KVM_FT_WIRE_HELLO_F_DEVICE))
			return KVM_FT_WIRE_E_ORDER;
		rx->device_len = m->len;
		return KVM_FT_WIRE_OK;
	case KVM_FT_WIRE_VERIFY:
		if (rx->verify_seen)
			return KVM_FT_WIRE_E_ORDER;	/* one checksum per epoch */
		rx->verify_seen = 1;
		return KVM_FT_WIRE_OK;
	case KVM_FT_WIRE_EPOCH_END:
		return rx_end(rx, m);
	}
	return KVM_FT_WIRE_E_TYPE;
}
