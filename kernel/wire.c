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
#include <linux/string.h>
#else
#include <string.h>
#endif

#include "wire.h"

#define HDR_LEN		sizeof(struct kvm_ft_wire_hdr)
#define CRC_OFF		12	/* offsetof(struct kvm_ft_wire_hdr, crc) */
#define PAGE		KVM_FT_WIRE_PAGE_SIZE
#define DELTA_HDR	sizeof(struct kvm_ft_wire_delta)
#define RUN_HDR		4	/* __le16 offset, __le16 n */
#define WIDE_RUN_HDR	8	/* __le32 offset, __le32 n: a device blob's */
#define VCPU_DELTA_HDR	sizeof(struct kvm_ft_wire_vcpu_delta)
#define DEVICE_DELTA_HDR sizeof(struct kvm_ft_wire_device_delta)

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
	[KVM_FT_WIRE_E_VERSION]	 = "no protocol version both sides speak",
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
	[KVM_FT_WIRE_E_AUTH]	 = "a sealed frame failed authentication (forged, altered, replayed or reordered)",
	[KVM_FT_WIRE_E_KEY]	 = "the peer proved no knowledge of our key (the keys differ)",
	[KVM_FT_WIRE_E_INSECURE] = "one side has a key and the other none",
	[KVM_FT_WIRE_E_BUSY]	 = "the backup is linked to another primary",
	[KVM_FT_WIRE_E_HANDSHAKE] = "no handshake within its time bound",
	[KVM_FT_WIRE_E_DELTA]	 = "a delta does not apply to the backup's copy",
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

	crc = kvm_ft_crc32c(crc, h, CRC_OFF);
	crc = kvm_ft_crc32c(crc, zero, sizeof(zero));
	crc = kvm_ft_crc32c(crc, h + CRC_OFF + 4, HDR_LEN - CRC_OFF - 4);
	if (len)
		crc = kvm_ft_crc32c(crc, payload, len);
	return ~crc;
}

void kvm_ft_wire_put_crc(void *hdr, const void *payload)
{
	__u8 *h = hdr;

	kvm_ft_wire_put_le32(h + CRC_OFF, frame_crc(h, payload, get_le32(h + 8)));
}

/*
 * The payloads' encoders, each next to what its decoder below reads: the
 * payload into @p, its length returned.
 */
__u32 kvm_ft_wire_put_hello(void *p, __u64 mem_pages, __u32 nr_vcpus, __u32 flags,
			    const char *name, __u32 machine)
{
	__u8 *h = p;

	memset(h, 0, sizeof(struct kvm_ft_wire_hello));
	kvm_ft_wire_put_le64(h, mem_pages);
	kvm_ft_wire_put_le32(h + 8, nr_vcpus);
	kvm_ft_wire_put_le32(h + 12, flags);
	strncpy((char *)h + 16, name, KVM_FT_NAME_LEN - 1);
	kvm_ft_wire_put_le32(h + 16 + KVM_FT_NAME_LEN, machine);
	return sizeof(struct kvm_ft_wire_hello);
}

__u32 kvm_ft_wire_put_pages(void *p, __u32 count, const __u64 *gfns)
{
	__u8 *g = p;
	__u32 i;

	kvm_ft_wire_put_le32(g, count);
	kvm_ft_wire_put_le32(g + 4, 0);
	for (i = 0; i < count; i++)
		kvm_ft_wire_put_le64(g + 8 + 8 * i, gfns[i]);
	return 8 + count * (8 + KVM_FT_WIRE_PAGE_SIZE);
}

__u32 kvm_ft_wire_put_zero(void *p, __u32 count, const __u64 *gfns)
{
	return kvm_ft_wire_put_pages(p, count, gfns) - count * KVM_FT_WIRE_PAGE_SIZE;
}

__u32 kvm_ft_wire_put_delta_hdr(void *p, __u32 count)
{
	kvm_ft_wire_put_le32(p, count);
	kvm_ft_wire_put_le32((__u8 *)p + 4, 0);
	return sizeof(struct kvm_ft_wire_pages);
}

/*
 * @a and @b differ in the 8 bytes at @i.  Loaded by memcpy(), which
 * compilers turn into one load each at any alignment, rather than a call
 * to memcmp() per word (the kernel's compares byte by byte).
 */
static int word_differs(const __u8 *a, const __u8 *b, __u32 i)
{
	__u64 x, y;

	memcpy(&x, a + i, 8);
	memcpy(&y, b + i, 8);
	return x != y;
}

/* @a and @b differ in the word at @i of @size bytes, or in its tail. */
static int differs(const __u8 *a, const __u8 *b, __u32 i, __u32 size)
{
	if (size - i >= 8)
		return word_differs(a, b, i);
	return memcmp(a + i, b + i, size - i) != 0;
}

/*
 * A run's header: its offset and length, each __le16 (pages, vCPU states)
 * or, @wide, __le32 (device blobs, up to KVM_FT_WIRE_MAX_DEVICE bytes).
 */
static __u32 run_hdr(int wide)
{
	return wide ? WIDE_RUN_HDR : RUN_HDR;
}

static void put_run_hdr(__u8 *o, __u32 off, __u32 n, int wide)
{
	if (wide) {
		kvm_ft_wire_put_le32(o, off);
		kvm_ft_wire_put_le32(o + 4, n);
		return;
	}
	o[0] = off;
	o[1] = off >> 8;
	o[2] = n;
	o[3] = n >> 8;
}

static void get_run_hdr(const __u8 *r, __u32 *off, __u32 *n, int wide)
{
	*off = wide ? get_le32(r) : get_le16(r);
	*n = wide ? get_le32(r + 4) : get_le16(r + 2);
}

/*
 * Runs of changed bytes, found a word at a time and trimmed to the bytes
 * that differ at either end: a run costs its header, so two runs apart
 * by a whole equal word are cheaper than one over it.  More than @max
 * bytes of runs: @max + 1.
 */
static __u32 runs(const __u8 *a, const __u8 *b, __u32 size, __u8 *o, __u32 max, int wide)
{
	__u32 len = 0, i = 0, start, end, hdr = run_hdr(wide);

	while (i < size) {
		while (i < size && !differs(a, b, i, size))
			i += 8;
		if (i >= size)
			break;
		start = i;
		while (i < size && differs(a, b, i, size))
			i += 8;
		end = i < size ? i : size;
		while (a[start] == b[start])
			start++;
		while (a[end - 1] == b[end - 1])
			end--;
		if (len + hdr + (end - start) > max)
			return max + 1;
		put_run_hdr(o + len, start, end - start, wide);
		memcpy(o + len + hdr, b + start, end - start);
		len += hdr + (end - start);
	}
	return len;
}

__u32 kvm_ft_wire_delta_runs(const void *base, const void *page, void *out)
{
	return runs(base, page, PAGE, out, KVM_FT_WIRE_DELTA_MAX, 0);
}

__u32 kvm_ft_wire_vcpu_runs(const void *base, const void *state, __u32 size, void *out)
{
	return runs(base, state, size, out, KVM_FT_WIRE_VCPU_DELTA_MAX, 0);
}

__u32 kvm_ft_wire_device_runs(const void *base, const void *blob, __u32 size, void *out,
			      __u32 max)
{
	if (max > KVM_FT_WIRE_DEVICE_DELTA_MAX)
		max = KVM_FT_WIRE_DEVICE_DELTA_MAX;
	return runs(base, blob, size, out, max, 1);
}

__u32 kvm_ft_wire_put_device_delta(void *p, __u32 size, __u64 base, __u32 len)
{
	__u8 *e = p;

	kvm_ft_wire_put_le32(e, size);
	kvm_ft_wire_put_le32(e + 4, 0);
	kvm_ft_wire_put_le64(e + 8, base);
	return DEVICE_DELTA_HDR + len;
}

__u32 kvm_ft_wire_put_vcpu_delta(void *p, __u32 index, __u32 size, __u64 base, __u32 len)
{
	__u8 *e = p;

	kvm_ft_wire_put_le32(e, index);
	kvm_ft_wire_put_le32(e + 4, size);
	kvm_ft_wire_put_le64(e + 8, base);
	return VCPU_DELTA_HDR + len;
}

__u32 kvm_ft_wire_put_delta(void *p, __u64 gfn, __u32 base, __u32 crc, __u32 len)
{
	__u8 *e = p;

	kvm_ft_wire_put_le64(e, gfn);
	kvm_ft_wire_put_le32(e + 8, base);
	kvm_ft_wire_put_le32(e + 12, crc);
	kvm_ft_wire_put_le32(e + 16, len);
	return DELTA_HDR + len;
}

__u32 kvm_ft_wire_put_vcpu_hdr(void *p, __u32 index, __u32 size)
{
	kvm_ft_wire_put_le32(p, index);
	kvm_ft_wire_put_le32((__u8 *)p + 4, size);
	return sizeof(struct kvm_ft_wire_vcpu) + size;
}

__u32 kvm_ft_wire_put_end(void *p, __u64 nr_pages, __u32 nr_vcpus, __u32 device_len)
{
	kvm_ft_wire_put_le64(p, nr_pages);
	kvm_ft_wire_put_le32((__u8 *)p + 8, nr_vcpus);
	kvm_ft_wire_put_le32((__u8 *)p + 12, device_len);
	return sizeof(struct kvm_ft_wire_epoch_end);
}

__u32 kvm_ft_wire_put_verify(void *p, __u32 crc)
{
	kvm_ft_wire_put_le32(p, crc);
	kvm_ft_wire_put_le32((__u8 *)p + 4, 0);
	return sizeof(struct kvm_ft_wire_verify);
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
	case KVM_FT_WIRE_ZERO:
		return len > sizeof(struct kvm_ft_wire_pages) &&
		       len <= sizeof(struct kvm_ft_wire_pages) + KVM_FT_WIRE_MAX_PAGES * 8;
	case KVM_FT_WIRE_DELTA:
		return len > sizeof(struct kvm_ft_wire_pages) &&
		       len <= sizeof(struct kvm_ft_wire_pages) + KVM_FT_WIRE_MAX_PAGES *
			      (DELTA_HDR + KVM_FT_WIRE_DELTA_MAX);
	case KVM_FT_WIRE_VCPU:
		return len > sizeof(struct kvm_ft_wire_vcpu) &&
		       len <= sizeof(struct kvm_ft_wire_vcpu) + KVM_FT_WIRE_MAX_VCPU_STATE;
	case KVM_FT_WIRE_VCPU_DELTA:
		return len >= VCPU_DELTA_HDR && len <= VCPU_DELTA_HDR + KVM_FT_WIRE_VCPU_DELTA_MAX;
	case KVM_FT_WIRE_DEVICE:
		return len > 0 && len <= KVM_FT_WIRE_MAX_DEVICE;
	case KVM_FT_WIRE_DEVICE_DELTA:
		return len >= DEVICE_DELTA_HDR &&
		       len <= DEVICE_DELTA_HDR + KVM_FT_WIRE_DEVICE_DELTA_MAX;
	case KVM_FT_WIRE_EPOCH_END:
		return len == sizeof(struct kvm_ft_wire_epoch_end);
	case KVM_FT_WIRE_VERIFY:
		return len == sizeof(struct kvm_ft_wire_verify);
	case KVM_FT_WIRE_INIT:
		return len == sizeof(struct kvm_ft_wire_init);
	case KVM_FT_WIRE_REPLY:
		return len == sizeof(struct kvm_ft_wire_reply);
	case KVM_FT_WIRE_CONFIRM:
		return len == sizeof(struct kvm_ft_wire_confirm);
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
	if (h[5] < KVM_FT_WIRE_HELLO || h[5] > KVM_FT_WIRE_DEVICE_DELTA)
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

/* PAGES, or ZERO (@data_len 0: numbers only; then m->pages.data is NULL). */
static int decode_pages(const __u8 *p, struct kvm_ft_wire_msg *m, __u32 data_len)
{
	__u32 count = get_le32(p);

	if (get_le32(p + 4))
		return KVM_FT_WIRE_E_RESERVED;
	/* count is checked before the multiplication: no overflow. */
	if (!count || count > KVM_FT_WIRE_MAX_PAGES || m->len != 8 + count * (8 + data_len))
		return KVM_FT_WIRE_E_LEN;
	m->pages.count = count;
	m->pages.gfns = p + 8;
	m->pages.data = data_len ? p + 8 + count * 8 : NULL;
	return KVM_FT_WIRE_OK;
}

/*
 * Runs: in order, apart, each within @size bytes, @len bytes in all.
 * Wide offsets and lengths may be near 2^32: compared so as not to wrap.
 */
static int runs_ok(const __u8 *r, __u32 len, __u32 size, int wide)
{
	__u32 pos = 0, end = 0, off, n, hdr = run_hdr(wide);

	while (pos < len) {
		if (len - pos < hdr)
			return 0;
		get_run_hdr(r + pos, &off, &n, wide);
		if (!n || off < end || off > size || n > size - off || n > len - pos - hdr)
			return 0;
		end = off + n;
		pos += hdr + n;
	}
	return 1;
}

/* DELTA: every page's header and runs, exactly m->len bytes in all. */
static int decode_delta(const __u8 *p, struct kvm_ft_wire_msg *m)
{
	__u32 count = get_le32(p), pos = sizeof(struct kvm_ft_wire_pages), i, len;

	if (get_le32(p + 4))
		return KVM_FT_WIRE_E_RESERVED;
	if (!count || count > KVM_FT_WIRE_MAX_PAGES)
		return KVM_FT_WIRE_E_LEN;
	for (i = 0; i < count; i++) {
		if (m->len - pos < DELTA_HDR)
			return KVM_FT_WIRE_E_LEN;
		len = get_le32(p + pos + 16);
		if (len > KVM_FT_WIRE_DELTA_MAX || len > m->len - pos - DELTA_HDR ||
		    !runs_ok(p + pos + DELTA_HDR, len, PAGE, 0))
			return KVM_FT_WIRE_E_LEN;
		pos += DELTA_HDR + len;
	}
	if (pos != m->len)
		return KVM_FT_WIRE_E_LEN;
	m->delta.count = count;
	m->delta.pages = p + sizeof(struct kvm_ft_wire_pages);
	return KVM_FT_WIRE_OK;
}

__u32 kvm_ft_wire_delta_get(const struct kvm_ft_wire_msg *m, __u32 pos,
			    struct kvm_ft_wire_delta_page *d)
{
	const __u8 *e = m->delta.pages + pos;

	d->gfn = get_le64(e);
	d->base = get_le32(e + 8);
	d->crc = get_le32(e + 12);
	d->len = get_le32(e + 16);
	d->runs = e + DELTA_HDR;
	return pos + DELTA_HDR + d->len;
}

__u32 kvm_ft_wire_page_crc(const void *page)
{
	return ~kvm_ft_crc32c(~0U, page, PAGE);
}

static void put_runs(void *to, const __u8 *r, __u32 len, int wide)
{
	__u32 pos = 0, off, n, hdr = run_hdr(wide);

	while (pos < len) {
		get_run_hdr(r + pos, &off, &n, wide);
		memcpy((__u8 *)to + off, r + pos + hdr, n);
		pos += hdr + n;
	}
}

void kvm_ft_wire_put_runs(void *to, const void *runs, __u32 len)
{
	put_runs(to, runs, len, 0);
}

void kvm_ft_wire_put_device_runs(void *to, const void *runs, __u32 len)
{
	put_runs(to, runs, len, 1);
}

/*
 * A CRC is linear: the page the runs make is the base xor their
 * difference D, zero but at the runs, so its CRC-32C is the base's xor
 * the raw CRC (from 0, no inversions) of D; that is, for each run, the
 * raw CRC of its difference, moved to its place by the zero bytes that
 * follow it in the page.  Some bytes and a shift a run, not a page.
 */
__u32 kvm_ft_wire_runs_crc(__u32 crc, const void *base, const void *runs, __u32 len)
{
	const __u8 *r = runs, *b = base;
	__u32 pos = 0, off, n, i, k, j, c;
	__u8 diff[64];

	while (pos < len) {
		off = get_le16(r + pos);
		n = get_le16(r + pos + 2);
		for (c = 0, i = 0; i < n; i += k) {
			k = n - i < sizeof(diff) ? n - i : sizeof(diff);
			for (j = 0; j < k; j++)
				diff[j] = b[off + i + j] ^ r[pos + RUN_HDR + i + j];
			c = kvm_ft_crc32c(c, diff, k);
		}
		crc ^= kvm_ft_crc32c_shift(c, PAGE - off - n);
		pos += RUN_HDR + n;
	}
	return crc;
}

int kvm_ft_wire_delta_apply(void *page, const struct kvm_ft_wire_delta_page *d)
{
	if (kvm_ft_wire_page_crc(page) != d->base)
		return KVM_FT_WIRE_E_DELTA;	/* not the page it was made against */
	kvm_ft_wire_put_runs(page, d->runs, d->len);
	return kvm_ft_wire_page_crc(page) == d->crc ? KVM_FT_WIRE_OK : KVM_FT_WIRE_E_DELTA;
}

static int decode_vcpu(const __u8 *p, struct kvm_ft_wire_msg *m)
{
	m->vcpu.index = get_le32(p);
	m->vcpu.size = get_le32(p + 4);
	m->vcpu.state = p + 8;
	return m->vcpu.size && m->len == 8 + m->vcpu.size ?
	       KVM_FT_WIRE_OK : KVM_FT_WIRE_E_LEN;
}

static int decode_vcpu_delta(const __u8 *p, struct kvm_ft_wire_msg *m)
{
	m->vcpu_delta.index = get_le32(p);
	m->vcpu_delta.size = get_le32(p + 4);
	m->vcpu_delta.base = get_le64(p + 8);
	m->vcpu_delta.runs = p + VCPU_DELTA_HDR;
	m->vcpu_delta.len = m->len - VCPU_DELTA_HDR;
	if (!m->vcpu_delta.size || m->vcpu_delta.size > KVM_FT_WIRE_VCPU_MAX ||
	    !runs_ok(m->vcpu_delta.runs, m->vcpu_delta.len, m->vcpu_delta.size, 0))
		return KVM_FT_WIRE_E_LEN;
	return m->vcpu_delta.base ? KVM_FT_WIRE_OK : KVM_FT_WIRE_E_DELTA;
}

int kvm_ft_wire_vcpu_delta_apply(void *state, __u32 size, __u64 epoch,
				 const struct kvm_ft_wire_msg *m)
{
	if (!epoch || epoch != m->vcpu_delta.base || size != m->vcpu_delta.size)
		return KVM_FT_WIRE_E_DELTA;	/* not the state it was made against */
	kvm_ft_wire_put_runs(state, m->vcpu_delta.runs, m->vcpu_delta.len);
	return KVM_FT_WIRE_OK;
}

static int decode_device_delta(const __u8 *p, struct kvm_ft_wire_msg *m)
{
	m->device_delta.size = get_le32(p);
	m->device_delta.base = get_le64(p + 8);
	m->device_delta.runs = p + DEVICE_DELTA_HDR;
	m->device_delta.len = m->len - DEVICE_DELTA_HDR;
	if (get_le32(p + 4))
		return KVM_FT_WIRE_E_RESERVED;
	if (!m->device_delta.size || m->device_delta.size > KVM_FT_WIRE_MAX_DEVICE ||
	    !runs_ok(m->device_delta.runs, m->device_delta.len, m->device_delta.size, 1))
		return KVM_FT_WIRE_E_LEN;
	return m->device_delta.base ? KVM_FT_WIRE_OK : KVM_FT_WIRE_E_DELTA;
}

int kvm_ft_wire_device_delta_apply(void *blob, __u32 size, __u64 epoch,
				   const struct kvm_ft_wire_msg *m)
{
	if (!epoch || epoch != m->device_delta.base || size != m->device_delta.size)
		return KVM_FT_WIRE_E_DELTA;	/* not the blob it was made against */
	put_runs(blob, m->device_delta.runs, m->device_delta.len, 1);
	return KVM_FT_WIRE_OK;
}

int kvm_ft_wire_decode(const void *hdr, const void *payload, int sealed,
		       struct kvm_ft_wire_msg *m)
{
	__u32 crc = get_le32((const __u8 *)hdr + CRC_OFF);
	const __u8 *p = payload;
	int err;

	err = kvm_ft_wire_decode_hdr(hdr, m);
	if (err)
		return err;
	/* A length the header allows, but no payload given for it: refused unread. */
	if (m->len && !payload)
		return KVM_FT_WIRE_E_LEN;
	if (sealed ? crc != 0 : crc != frame_crc(hdr, payload, m->len))
		return sealed ? KVM_FT_WIRE_E_RESERVED : KVM_FT_WIRE_E_CRC;

	switch (m->type) {
	case KVM_FT_WIRE_HELLO:
		return decode_hello(p, m);
	case KVM_FT_WIRE_PAGES:
		return decode_pages(p, m, KVM_FT_WIRE_PAGE_SIZE);
	case KVM_FT_WIRE_ZERO:
		return decode_pages(p, m, 0);
	case KVM_FT_WIRE_DELTA:
		return decode_delta(p, m);
	case KVM_FT_WIRE_VCPU:
		return decode_vcpu(p, m);
	case KVM_FT_WIRE_VCPU_DELTA:
		return decode_vcpu_delta(p, m);
	case KVM_FT_WIRE_DEVICE_DELTA:
		return decode_device_delta(p, m);
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

int kvm_ft_wire_decode_reply(const void *hdr, int sealed, struct kvm_ft_wire_msg *m)
{
	int err = kvm_ft_wire_decode_hdr(hdr, m);

	if (err)
		return err;
	if (m->type != KVM_FT_WIRE_ACK && m->type != KVM_FT_WIRE_HEARTBEAT)
		return KVM_FT_WIRE_E_ORDER;
	return kvm_ft_wire_decode(hdr, NULL, sealed, m);
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

/* Only from a primary that said it would, after the sync, to pages we have. */
static int rx_delta(struct kvm_ft_wire_rx *rx, const struct kvm_ft_wire_msg *m)
{
	struct kvm_ft_wire_delta_page d;
	__u32 i, pos = 0;

	if (!(rx->features & KVM_FT_WIRE_FEAT_DELTA) || m->epoch == 1)
		return KVM_FT_WIRE_E_ORDER;
	for (i = 0; i < m->delta.count; i++) {
		pos = kvm_ft_wire_delta_get(m, pos, &d);
		if (!rx->gfn_valid(rx->ctx, d.gfn))
			return KVM_FT_WIRE_E_GFN;
	}
	rx->pages += m->delta.count;
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
 * without gaps, each EPOCH_BEGIN, any PAGES/ZERO/DELTA/VCPU/VCPU_DELTA/
 * DEVICE/DEVICE_DELTA/VERIFY, EPOCH_END.
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
	/* No ACK to a receiver of epochs; the handshake is over. */
	if (!rx->hello_seen || m->type == KVM_FT_WIRE_ACK ||
	    (m->type >= KVM_FT_WIRE_INIT && m->type <= KVM_FT_WIRE_CONFIRM))
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
	case KVM_FT_WIRE_ZERO:
		/* Only from a primary that said it would send them. */
		if (!(rx->features & KVM_FT_WIRE_FEAT_ZERO))
			return KVM_FT_WIRE_E_ORDER;
		return rx_pages(rx, m);
	case KVM_FT_WIRE_DELTA:
		return rx_delta(rx, m);
	case KVM_FT_WIRE_VCPU:
		if (m->vcpu.index >= rx->nr_vcpus)
			return KVM_FT_WIRE_E_VCPU;
		rx->vcpus++;
		return KVM_FT_WIRE_OK;
	case KVM_FT_WIRE_VCPU_DELTA:
		/* Only from a primary that said it would send them. */
		if (!(rx->features & KVM_FT_WIRE_FEAT_VCPU_DELTA))
			return KVM_FT_WIRE_E_ORDER;
		if (m->vcpu_delta.index >= rx->nr_vcpus)
			return KVM_FT_WIRE_E_VCPU;
		rx->vcpus++;
		return KVM_FT_WIRE_OK;
	case KVM_FT_WIRE_DEVICE:
		/* One blob per epoch, from a VM that said it has devices. */
		if (rx->device_len || !(rx->flags & KVM_FT_WIRE_HELLO_F_DEVICE))
			return KVM_FT_WIRE_E_ORDER;
		rx->device_len = m->len;
		return KVM_FT_WIRE_OK;
	case KVM_FT_WIRE_DEVICE_DELTA:
		/* As DEVICE, from a primary that said it would send them. */
		if (rx->device_len || !(rx->flags & KVM_FT_WIRE_HELLO_F_DEVICE) ||
		    !(rx->features & KVM_FT_WIRE_FEAT_DEVICE_DELTA))
			return KVM_FT_WIRE_E_ORDER;
		rx->device_len = m->device_delta.size;
		return KVM_FT_WIRE_OK;
	case KVM_FT_WIRE_VERIFY:
		/* One checksum per epoch, from a primary that said it would. */
		if (rx->verify_seen || !(rx->features & KVM_FT_WIRE_FEAT_VERIFY))
			return KVM_FT_WIRE_E_ORDER;
		rx->verify_seen = 1;
		return KVM_FT_WIRE_OK;
	case KVM_FT_WIRE_EPOCH_END:
		return rx_end(rx, m);
	}
	return KVM_FT_WIRE_E_TYPE;
}

/* ---- The handshake ------------------------------------------------------ */

#define INIT_LEN	sizeof(struct kvm_ft_wire_init)
#define REPLY_LEN	sizeof(struct kvm_ft_wire_reply)
#define REPLY_SAID	(REPLY_LEN - KVM_FT_WIRE_PROOF_LEN)	/* what the proof covers */
#define NAME_OFF_INIT	(16 + KVM_FT_WIRE_NONCE_LEN)
#define NAME_OFF_REPLY	(16 + KVM_FT_WIRE_NONCE_LEN)

/* No early exit: how much of a proof matched must not show in the time taken. */
static int equal_secret(const __u8 *a, const __u8 *b, __u32 len)
{
	__u8 diff = 0;
	__u32 i;

	for (i = 0; i < len; i++)
		diff |= a[i] ^ b[i];
	return !diff;
}

/* A memset the compiler keeps: what it clears is never read again. */
static void wipe(void *buf, __u32 len)
{
	volatile __u8 *p = buf;
	__u32 i;

	for (i = 0; i < len; i++)
		p[i] = 0;
}

void kvm_ft_wire_hs_wipe(struct kvm_ft_wire_hs *hs)
{
	wipe(hs, sizeof(*hs));
}

static void versions(struct kvm_ft_wire_hs *hs)
{
	if (!hs->max_version) {
		hs->min_version = KVM_FT_WIRE_VERSION_MIN;
		hs->max_version = KVM_FT_WIRE_VERSION;
	}
}

/* A frame of the handshake: header, payload, checksum; its length. */
static __u32 hs_frame(void *frame, __u8 type, const void *payload, __u32 len)
{
	kvm_ft_wire_put_hdr(frame, type, 0, len);
	memcpy((__u8 *)frame + HDR_LEN, payload, len);
	kvm_ft_wire_put_crc(frame, (__u8 *)frame + HDR_LEN);
	return HDR_LEN + len;
}

/* A handshake frame of @type, checked whole. */
static int hs_decode(const void *hdr, const void *payload, __u8 type)
{
	struct kvm_ft_wire_msg m;
	int err = kvm_ft_wire_decode(hdr, payload, 0, &m);

	if (err)
		return err;
	return m.type == type ? KVM_FT_WIRE_OK : KVM_FT_WIRE_E_ORDER;
}

static int name_ok(const __u8 *p)
{
	return memchr(p, 0, KVM_FT_NAME_LEN) != NULL;
}

/*
 * The key schedule, once INIT and REPLY are known (HKDF, RFC 5869, over
 * HMAC-SHA256): PRK = HMAC(nonce_p | nonce_b, key); th = SHA-256 of all
 * that both said; each key and proof = HMAC(PRK, label | th | 1), a
 * one-block HKDF-Expand.  Everything said is in th, so a proof binds the
 * versions, features, names and both nonces: a downgrade, a replay from
 * another connection or a reflected proof fails.
 */
static int derive(struct kvm_ft_wire_hs *hs)
{
	static const char *const labels[] = {
		"cuju v2 key p2b", "cuju v2 key b2p", "cuju v2 proof p", "cuju v2 proof b",
	};
	__u8 *const out[] = { hs->key_p2b, hs->key_b2p, hs->proof_p, hs->proof_b };
	const __u8 one = 1;
	__u8 salt[2 * KVM_FT_WIRE_NONCE_LEN], prk[KVM_FT_WIRE_HASH_LEN], th[KVM_FT_WIRE_HASH_LEN];
	struct kvm_ft_wire_buf said[] = {
		{ "cuju v2", 7 }, { hs->init, INIT_LEN }, { hs->reply, REPLY_SAID },
	};
	struct kvm_ft_wire_buf ikm = { hs->key, KVM_FT_KEY_LEN };
	int i, err;

	memcpy(salt, hs->init + 16, KVM_FT_WIRE_NONCE_LEN);
	memcpy(salt + KVM_FT_WIRE_NONCE_LEN, hs->reply + 16, KVM_FT_WIRE_NONCE_LEN);
	err = kvm_ft_wire_hmac(salt, sizeof(salt), &ikm, 1, prk) ||
	      kvm_ft_wire_sha256(said, 3, th);
	for (i = 0; !err && i < 4; i++) {
		struct kvm_ft_wire_buf info[] = {
			{ labels[i], strlen(labels[i]) }, { th, sizeof(th) }, { &one, 1 },
		};

		err = kvm_ft_wire_hmac(prk, sizeof(prk), info, 3, out[i]);
	}
	wipe(prk, sizeof(prk));
	return err ? KVM_FT_WIRE_E_NOMEM : KVM_FT_WIRE_OK;
}

__u32 kvm_ft_wire_hs_init(struct kvm_ft_wire_hs *hs, void *frame)
{
	__u8 *p = hs->init;

	versions(hs);
	memset(p, 0, INIT_LEN);
	p[0] = hs->min_version;
	p[1] = hs->max_version;
	kvm_ft_wire_put_le32(p + 4, hs->features);
	kvm_ft_wire_put_le32(p + 8, hs->keyed ? KVM_FT_WIRE_HS_F_KEYED : 0);
	memcpy(p + 16, hs->nonce, KVM_FT_WIRE_NONCE_LEN);
	memcpy(p + NAME_OFF_INIT, hs->name, KVM_FT_NAME_LEN - 1);
	return hs_frame(frame, KVM_FT_WIRE_INIT, p, INIT_LEN);
}

/* What the backup makes of INIT (in hs->init): OK, or its refusal. */
static int judge_init(struct kvm_ft_wire_hs *hs)
{
	const __u8 *p = hs->init;
	__u32 flags = get_le32(p + 8);
	__u8 lo = p[0], hi = p[1];

	if (get_le16(p + 2) || get_le32(p + 12) || flags & ~KVM_FT_WIRE_HS_F_ALL)
		return KVM_FT_WIRE_E_RESERVED;
	if (!name_ok(p + NAME_OFF_INIT))
		return KVM_FT_WIRE_E_LEN;
	memcpy(hs->peer, p + NAME_OFF_INIT, KVM_FT_NAME_LEN);
	/* The highest version both speak. */
	hs->version = hi < hs->max_version ? hi : hs->max_version;
	if (lo > hi || hs->version < lo || hs->version < hs->min_version)
		return KVM_FT_WIRE_E_VERSION;
	hs->common = get_le32(p + 4) & hs->features;
	if (!(flags & KVM_FT_WIRE_HS_F_KEYED) != !hs->keyed)
		return KVM_FT_WIRE_E_INSECURE;
	return KVM_FT_WIRE_OK;
}

/* REPLY's payload (but its proof) into hs->reply: @status, and if OK, our side. */
static void put_reply(struct kvm_ft_wire_hs *hs, int status)
{
	__u8 *r = hs->reply;

	memset(r, 0, REPLY_LEN);
	kvm_ft_wire_put_le32(r, status);
	if (status)
		return;		/* a refusal says nothing more */
	r[4] = hs->version;
	kvm_ft_wire_put_le32(r + 8, hs->common);
	kvm_ft_wire_put_le32(r + 12, hs->keyed ? KVM_FT_WIRE_HS_F_KEYED : 0);
	memcpy(r + 16, hs->nonce, KVM_FT_WIRE_NONCE_LEN);
	memcpy(r + NAME_OFF_REPLY, hs->name, KVM_FT_NAME_LEN - 1);
}

int kvm_ft_wire_hs_reply(struct kvm_ft_wire_hs *hs, const void *hdr, const void *payload,
			 void *frame, __u32 *len)
{
	int status;

	versions(hs);
	status = hs_decode(hdr, payload, KVM_FT_WIRE_INIT);
	if (!status) {
		memcpy(hs->init, payload, INIT_LEN);
		status = judge_init(hs);
	}
	put_reply(hs, status);
	if (!status && hs->keyed) {
		status = derive(hs);
		if (status)
			put_reply(hs, status);
		else
			memcpy(hs->reply + REPLY_SAID, hs->proof_b, KVM_FT_WIRE_PROOF_LEN);
	}
	*len = hs_frame(frame, KVM_FT_WIRE_REPLY, hs->reply, REPLY_LEN);
	return status;
}

__u32 kvm_ft_wire_hs_refusal(void *frame, int status)
{
	__u8 r[REPLY_LEN] = { 0 };

	kvm_ft_wire_put_le32(r, status);
	return hs_frame(frame, KVM_FT_WIRE_REPLY, r, REPLY_LEN);
}

/* What the primary makes of REPLY (in hs->reply): OK, or why not. */
static int judge_reply(struct kvm_ft_wire_hs *hs)
{
	const __u8 *r = hs->reply;
	__u32 status = get_le32(r), flags = get_le32(r + 12);

	if (status)
		return status < KVM_FT_WIRE_E_MAX ? (int)status : KVM_FT_WIRE_E_RESERVED;
	if (r[5] || r[6] || r[7] || flags & ~KVM_FT_WIRE_HS_F_ALL)
		return KVM_FT_WIRE_E_RESERVED;
	if (!name_ok(r + NAME_OFF_REPLY))
		return KVM_FT_WIRE_E_LEN;
	memcpy(hs->peer, r + NAME_OFF_REPLY, KVM_FT_NAME_LEN);
	/* A version we did not offer, or features we do not speak: no answer to us. */
	hs->version = r[4];
	hs->common = get_le32(r + 8);
	if (hs->version < hs->min_version || hs->version > hs->max_version)
		return KVM_FT_WIRE_E_VERSION;
	if (hs->common & ~hs->features)
		return KVM_FT_WIRE_E_RESERVED;
	if (!(flags & KVM_FT_WIRE_HS_F_KEYED) != !hs->keyed)
		return KVM_FT_WIRE_E_INSECURE;
	return KVM_FT_WIRE_OK;
}

int kvm_ft_wire_hs_confirm(struct kvm_ft_wire_hs *hs, const void *hdr, const void *payload,
			   void *frame, __u32 *len)
{
	__u8 proof[KVM_FT_WIRE_PROOF_LEN] = { 0 };
	int err;

	versions(hs);
	err = hs_decode(hdr, payload, KVM_FT_WIRE_REPLY);
	if (err)
		return err;
	memcpy(hs->reply, payload, REPLY_LEN);
	err = judge_reply(hs);
	if (!err && hs->keyed) {
		err = derive(hs);
		memcpy(proof, hs->proof_p, sizeof(proof));
	}
	if (!err)
		*len = hs_frame(frame, KVM_FT_WIRE_CONFIRM, proof, sizeof(proof));
	return err;
}

int kvm_ft_wire_hs_proven(const struct kvm_ft_wire_hs *hs)
{
	if (!hs->keyed)
		return KVM_FT_WIRE_OK;
	return equal_secret(hs->reply + REPLY_SAID, hs->proof_b, KVM_FT_WIRE_PROOF_LEN) ?
	       KVM_FT_WIRE_OK : KVM_FT_WIRE_E_KEY;
}

int kvm_ft_wire_hs_done(struct kvm_ft_wire_hs *hs, const void *hdr, const void *payload)
{
	static const __u8 zero[KVM_FT_WIRE_PROOF_LEN];
	int err = hs_decode(hdr, payload, KVM_FT_WIRE_CONFIRM);

	if (err)
		return err;
	return equal_secret(payload, hs->keyed ? hs->proof_p : zero, KVM_FT_WIRE_PROOF_LEN) ?
	       KVM_FT_WIRE_OK : KVM_FT_WIRE_E_KEY;
}

/* ---- The VCPU frame's state, field by field ----------------------------- */

/*
 * The encoding is in Documentation/wire-protocol.rst (VCPU payload): every
 * field little-endian at a fixed place, counts before what they count,
 * the XSAVE area with its own size; nothing of the structures' native
 * layout or padding crosses.  The reader checks every count and reserved
 * byte, and that the state fills the frame exactly.
 */

#define REGS_N		(sizeof(struct kvm_regs) / 8)	/* rax .. rflags, all __u64 */
#define SEG_LEN		24
#define DT_LEN		16
#define SREGS_LEN	(8 * SEG_LEN + 2 * DT_LEN + 7 * 8 + 4 * 8)
#define EVENTS_LEN	40
#define DEBUGREGS_LEN	(7 * 8)
#define XCR_LEN		16
#define MSR_LEN		12
#define LAPIC_LEN	sizeof(struct kvm_lapic_state)
#define XSAVE_LEN	sizeof(((struct kvm_xsave *)0)->region)
#define VCPU_FIXED	(8 + 8 * REGS_N + SREGS_LEN + EVENTS_LEN + DEBUGREGS_LEN + 8 + 4 + 4)

_Static_assert(sizeof(struct kvm_regs) == 18 * 8, "kvm_regs: 18 registers of 8 bytes");
_Static_assert(sizeof(((struct kvm_sregs *)0)->interrupt_bitmap) == 4 * 8,
	       "kvm_sregs: a 256-bit interrupt bitmap");
_Static_assert(VCPU_FIXED == 576, "the VCPU state's fixed part is 576 bytes");
_Static_assert(KVM_FT_WIRE_VCPU_MAX == VCPU_FIXED + KVM_MAX_XCRS * XCR_LEN +
	       KVM_FT_NR_MSRS * MSR_LEN + LAPIC_LEN + XSAVE_LEN, "KVM_FT_WIRE_VCPU_MAX");
_Static_assert(KVM_FT_WIRE_VCPU_MAX + sizeof(struct kvm_ft_wire_vcpu) <=
	       KVM_FT_WIRE_MAX_VCPU_STATE, "a VCPU frame's state fits its bound");

static __u8 *put8(__u8 *p, __u8 v)
{
	*p = v;
	return p + 1;
}

static __u8 *put16(__u8 *p, __u16 v)
{
	p[0] = v;
	p[1] = v >> 8;
	return p + 2;
}

static __u8 *put32(__u8 *p, __u32 v)
{
	kvm_ft_wire_put_le32(p, v);
	return p + 4;
}

static __u8 *put64(__u8 *p, __u64 v)
{
	kvm_ft_wire_put_le64(p, v);
	return p + 8;
}

static __u8 *put_bytes(__u8 *p, const void *v, __u32 n)
{
	memcpy(p, v, n);
	return p + n;
}

static __u8 *put_segment(__u8 *p, const struct kvm_segment *s)
{
	p = put64(p, s->base);
	p = put32(p, s->limit);
	p = put16(p, s->selector);
	p = put8(p, s->type);
	p = put8(p, s->present);
	p = put8(p, s->dpl);
	p = put8(p, s->db);
	p = put8(p, s->s);
	p = put8(p, s->l);
	p = put8(p, s->g);
	p = put8(p, s->avl);
	p = put8(p, s->unusable);
	return put8(p, 0);
}

static __u8 *put_dtable(__u8 *p, const struct kvm_dtable *d)
{
	p = put64(p, d->base);
	p = put16(p, d->limit);
	memset(p, 0, 6);
	return p + 6;
}

static __u8 *put_sregs(__u8 *p, const struct kvm_sregs *s)
{
	const struct kvm_segment *segs[] = {
		&s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss, &s->tr, &s->ldt,
	};
	const __u64 ctl[] = { s->cr0, s->cr2, s->cr3, s->cr4, s->cr8, s->efer, s->apic_base };
	unsigned int i;

	for (i = 0; i < 8; i++)
		p = put_segment(p, segs[i]);
	p = put_dtable(p, &s->gdt);
	p = put_dtable(p, &s->idt);
	for (i = 0; i < 7; i++)
		p = put64(p, ctl[i]);
	for (i = 0; i < 4; i++)
		p = put64(p, s->interrupt_bitmap[i]);
	return p;
}

static __u8 *put_events(__u8 *p, const struct kvm_vcpu_events *e)
{
	p = put8(p, e->exception.injected);
	p = put8(p, e->exception.nr);
	p = put8(p, e->exception.has_error_code);
	p = put8(p, e->exception.pending);
	p = put32(p, e->exception.error_code);
	p = put8(p, e->interrupt.injected);
	p = put8(p, e->interrupt.nr);
	p = put8(p, e->interrupt.soft);
	p = put8(p, e->interrupt.shadow);
	p = put8(p, e->nmi.injected);
	p = put8(p, e->nmi.pending);
	p = put8(p, e->nmi.masked);
	p = put8(p, 0);
	p = put32(p, e->sipi_vector);
	p = put32(p, e->flags);
	p = put8(p, e->smi.smm);
	p = put8(p, e->smi.pending);
	p = put8(p, e->smi.smm_inside_nmi);
	p = put8(p, e->smi.latched_init);
	p = put8(p, e->triple_fault.pending);
	p = put8(p, e->exception_has_payload);
	p = put16(p, 0);
	return put64(p, e->exception_payload);
}

__u32 kvm_ft_wire_put_vcpu(void *out, const struct kvm_ft_arch_vcpu *st)
{
	const __u64 *regs = &st->regs.rax;
	const __u64 dbg[] = {
		st->debugregs.db[0], st->debugregs.db[1], st->debugregs.db[2], st->debugregs.db[3],
		st->debugregs.dr6, st->debugregs.dr7, st->debugregs.flags,
	};
	__u8 *p = out;
	__u32 i, nr_xcrs = st->xcrs.nr_xcrs < KVM_MAX_XCRS ? st->xcrs.nr_xcrs : KVM_MAX_XCRS;
	__u32 nr_msrs = st->nr_msrs < KVM_FT_NR_MSRS ? st->nr_msrs : KVM_FT_NR_MSRS;

	p = put32(p, st->mp_state);
	p = put8(p, !!st->has_lapic);
	memset(p, 0, 3);
	p += 3;
	for (i = 0; i < REGS_N; i++)
		p = put64(p, regs[i]);
	p = put_sregs(p, &st->sregs);
	p = put_events(p, &st->events);
	for (i = 0; i < 7; i++)
		p = put64(p, dbg[i]);
	p = put32(p, nr_xcrs);
	p = put32(p, st->xcrs.flags);
	for (i = 0; i < nr_xcrs; i++) {
		p = put32(p, st->xcrs.xcrs[i].xcr);
		p = put32(p, 0);
		p = put64(p, st->xcrs.xcrs[i].value);
	}
	p = put32(p, nr_msrs);
	for (i = 0; i < nr_msrs; i++) {
		p = put32(p, st->msrs[i].index);
		p = put64(p, st->msrs[i].data);
	}
	if (st->has_lapic)
		p = put_bytes(p, st->lapic.regs, LAPIC_LEN);
	p = put32(p, XSAVE_LEN);
	p = put_bytes(p, st->xsave.region, XSAVE_LEN);
	return p - (__u8 *)out;
}

/* A reader of the state: every read bounded by what is left; @err sticks. */
struct rd {
	const __u8 *p;
	__u32 left;
	int err;
};

static const __u8 *take_n(struct rd *r, __u32 n)
{
	const __u8 *p = r->p;

	if (r->err || r->left < n) {
		r->err = r->err ?: KVM_FT_WIRE_E_LEN;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static __u8 get8(struct rd *r)
{
	const __u8 *p = take_n(r, 1);

	return p ? *p : 0;
}

static __u16 get16(struct rd *r)
{
	const __u8 *p = take_n(r, 2);

	return p ? get_le16(p) : 0;
}

static __u32 get32(struct rd *r)
{
	const __u8 *p = take_n(r, 4);

	return p ? get_le32(p) : 0;
}

static __u64 get64(struct rd *r)
{
	const __u8 *p = take_n(r, 8);

	return p ? get_le64(p) : 0;
}

/* @n bytes that must be zero. */
static void get_zero(struct rd *r, __u32 n)
{
	const __u8 *p = take_n(r, n);
	__u32 i;

	for (i = 0; p && i < n; i++)
		if (p[i] && !r->err)
			r->err = KVM_FT_WIRE_E_RESERVED;
}

static void get_segment(struct rd *r, struct kvm_segment *s)
{
	s->base = get64(r);
	s->limit = get32(r);
	s->selector = get16(r);
	s->type = get8(r);
	s->present = get8(r);
	s->dpl = get8(r);
	s->db = get8(r);
	s->s = get8(r);
	s->l = get8(r);
	s->g = get8(r);
	s->avl = get8(r);
	s->unusable = get8(r);
	get_zero(r, 1);
}

static void get_dtable(struct rd *r, struct kvm_dtable *d)
{
	d->base = get64(r);
	d->limit = get16(r);
	get_zero(r, 6);
}

static void get_sregs(struct rd *r, struct kvm_sregs *s)
{
	struct kvm_segment *segs[] = {
		&s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss, &s->tr, &s->ldt,
	};
	__u64 *ctl[] = { &s->cr0, &s->cr2, &s->cr3, &s->cr4, &s->cr8, &s->efer, &s->apic_base };
	unsigned int i;

	for (i = 0; i < 8; i++)
		get_segment(r, segs[i]);
	get_dtable(r, &s->gdt);
	get_dtable(r, &s->idt);
	for (i = 0; i < 7; i++)
		*ctl[i] = get64(r);
	for (i = 0; i < 4; i++)
		s->interrupt_bitmap[i] = get64(r);
}

static void get_events(struct rd *r, struct kvm_vcpu_events *e)
{
	e->exception.injected = get8(r);
	e->exception.nr = get8(r);
	e->exception.has_error_code = get8(r);
	e->exception.pending = get8(r);
	e->exception.error_code = get32(r);
	e->interrupt.injected = get8(r);
	e->interrupt.nr = get8(r);
	e->interrupt.soft = get8(r);
	e->interrupt.shadow = get8(r);
	e->nmi.injected = get8(r);
	e->nmi.pending = get8(r);
	e->nmi.masked = get8(r);
	get_zero(r, 1);
	e->sipi_vector = get32(r);
	e->flags = get32(r);
	e->smi.smm = get8(r);
	e->smi.pending = get8(r);
	e->smi.smm_inside_nmi = get8(r);
	e->smi.latched_init = get8(r);
	e->triple_fault.pending = get8(r);
	e->exception_has_payload = get8(r);
	get_zero(r, 2);
	e->exception_payload = get64(r);
}

/* The counted parts: XCRs, MSRs, the LAPIC's page, the XSAVE area. */
static void get_counted(struct rd *r, struct kvm_ft_arch_vcpu *st)
{
	__u32 i;

	st->xcrs.nr_xcrs = get32(r);
	st->xcrs.flags = get32(r);
	if (!r->err && st->xcrs.nr_xcrs > KVM_MAX_XCRS)
		r->err = KVM_FT_WIRE_E_VCPU;
	for (i = 0; !r->err && i < st->xcrs.nr_xcrs; i++) {
		st->xcrs.xcrs[i].xcr = get32(r);
		get_zero(r, 4);
		st->xcrs.xcrs[i].value = get64(r);
	}
	st->nr_msrs = get32(r);
	if (!r->err && st->nr_msrs > KVM_FT_NR_MSRS)
		r->err = KVM_FT_WIRE_E_VCPU;
	for (i = 0; !r->err && i < st->nr_msrs; i++) {
		st->msrs[i].index = get32(r);
		st->msrs[i].data = get64(r);
	}
	if (st->has_lapic && take_n(r, LAPIC_LEN))
		memcpy(st->lapic.regs, r->p - LAPIC_LEN, LAPIC_LEN);
	/* Another size of XSAVE area is another kvm.ko's state: not ours to load. */
	if (get32(r) != XSAVE_LEN && !r->err)
		r->err = KVM_FT_WIRE_E_VCPU;
	if (take_n(r, XSAVE_LEN))
		memcpy(st->xsave.region, r->p - XSAVE_LEN, XSAVE_LEN);
}

int kvm_ft_wire_get_vcpu(const void *in, __u32 len, struct kvm_ft_arch_vcpu *st)
{
	struct rd r = { .p = in, .left = len };
	__u64 *regs = &st->regs.rax;
	__u64 *dbg[] = {
		&st->debugregs.db[0], &st->debugregs.db[1], &st->debugregs.db[2],
		&st->debugregs.db[3], &st->debugregs.dr6, &st->debugregs.dr7,
		&st->debugregs.flags,
	};
	__u8 lapic;
	__u32 i;

	memset(st, 0, sizeof(*st));
	st->mp_state = get32(&r);
	lapic = get8(&r);
	if (lapic > 1 && !r.err)
		r.err = KVM_FT_WIRE_E_VCPU;
	st->has_lapic = lapic;
	get_zero(&r, 3);
	for (i = 0; i < REGS_N; i++)
		regs[i] = get64(&r);
	get_sregs(&r, &st->sregs);
	get_events(&r, &st->events);
	for (i = 0; i < 7; i++)
		*dbg[i] = get64(&r);
	get_counted(&r, st);
	if (!r.err && r.left)
		r.err = KVM_FT_WIRE_E_LEN;		/* more than the state */
	return r.err;
}
