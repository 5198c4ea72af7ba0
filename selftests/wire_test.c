// SPDX-License-Identifier: GPL-2.0
/*
 * The wire codec (kernel/wire.c, built here in user space): frames round-trip,
 * and every malformed or out-of-order frame is refused with its own reason.
 */
#include <stdlib.h>
#include <string.h>

#include "useal.h"
#include "test.h"
#include "wire.h"

#define HDR	sizeof(struct kvm_ft_wire_hdr)
#define MAXF	(HDR + 8 + KVM_FT_WIRE_MAX_PAGES * (8 + KVM_FT_WIRE_PAGE_SIZE))

static __u8 frame[MAXF];

/* Build a checksummed frame of @type with @len payload bytes from @payload. */
static __u8 *build(__u8 type, __u64 epoch, const void *payload, __u32 len)
{
	kvm_ft_wire_put_hdr(frame, type, epoch, len);
	memcpy(frame + HDR, payload, len);
	kvm_ft_wire_put_crc(frame, frame + HDR);
	return frame;
}

static int decode(struct kvm_ft_wire_msg *m)
{
	return kvm_ft_wire_decode(frame, frame + HDR, 0, m);
}

/* HELLO of a VM whose VMM hands in device state (as the receiver's). */
static __u32 hello(__u8 *p, __u64 pages, __u32 vcpus, const char *name)
{
	return kvm_ft_wire_put_hello(p, pages, vcpus, KVM_FT_WIRE_HELLO_F_DEVICE, name, 0);
}

/* A PAGES payload: @count frames from @gfn0 up, page i filled with byte i. */
static __u32 pages(__u8 *p, __u32 count, __u64 gfn0)
{
	__u32 i;

	kvm_ft_wire_put_le32(p, count);
	kvm_ft_wire_put_le32(p + 4, 0);
	for (i = 0; i < count; i++) {
		kvm_ft_wire_put_le64(p + 8 + 8 * i, gfn0 + i);
		memset(p + 8 + 8 * count + i * KVM_FT_WIRE_PAGE_SIZE, i, KVM_FT_WIRE_PAGE_SIZE);
	}
	return 8 + count * (8 + KVM_FT_WIRE_PAGE_SIZE);
}

/* A ZERO payload: @count frames from @gfn0 up, their numbers only. */
static __u32 zero(__u8 *p, __u32 count, __u64 gfn0)
{
	__u64 gfns[KVM_FT_WIRE_MAX_PAGES];
	__u32 i;

	for (i = 0; i < count && i < KVM_FT_WIRE_MAX_PAGES; i++)
		gfns[i] = gfn0 + i;
	return kvm_ft_wire_put_zero(p, count, gfns);
}

/*
 * A DELTA payload of one page, @gfn: @base with bytes 100..107 and 3000
 * set to @v (two runs).  The page it makes into @after, if not NULL.
 */
static __u32 delta1(__u8 *p, __u64 gfn, const __u8 *base, __u8 v, __u8 *after)
{
	__u8 page[KVM_FT_WIRE_PAGE_SIZE];
	__u32 len, h = kvm_ft_wire_put_delta_hdr(p, 1);

	memcpy(page, base, sizeof(page));
	memset(page + 100, v, 8);
	page[3000] = v;
	len = kvm_ft_wire_delta_runs(base, page, p + h + sizeof(struct kvm_ft_wire_delta));
	if (after)
		memcpy(after, page, sizeof(page));
	return h + kvm_ft_wire_put_delta(p + h, gfn, kvm_ft_wire_page_crc(base),
					 kvm_ft_wire_page_crc(page), len);
}

static __u32 vcpu(__u8 *p, __u32 index, __u32 size)
{
	kvm_ft_wire_put_le32(p, index);
	kvm_ft_wire_put_le32(p + 4, size);
	memset(p + 8, 0xab, size);
	return 8 + size;
}

static __u32 end(__u8 *p, __u64 npages, __u32 nvcpus, __u32 dev)
{
	kvm_ft_wire_put_le64(p, npages);
	kvm_ft_wire_put_le32(p + 8, nvcpus);
	kvm_ft_wire_put_le32(p + 12, dev);
	return 16;
}

static __u8 pl[MAXF];

/* The receiver's VM: 1024 frames from gfn 0. */
static int gfn_below_1024(void *ctx, __u64 gfn)
{
	return gfn < 1024;
}

/* Decode the frame in @frame and feed it to @rx; the first error wins. */
static int feed(struct kvm_ft_wire_rx *rx, struct kvm_ft_wire_msg *m)
{
	int err = decode(m);

	return err ? err : kvm_ft_wire_rx(rx, m);
}

FIXTURE(rx) {
	struct kvm_ft_wire_rx rx;
	struct kvm_ft_wire_msg m;
};

FIXTURE_SETUP(rx)
{
	memset(&self->rx, 0, sizeof(self->rx));
	self->rx.mem_pages = 1024;
	self->rx.nr_vcpus = 2;
	self->rx.flags = KVM_FT_WIRE_HELLO_F_DEVICE;
	self->rx.gfn_valid = gfn_below_1024;
	self->rx.features = KVM_FT_WIRE_FEAT_ALL;
	build(KVM_FT_WIRE_HELLO, 0, pl, hello(pl, 1024, 2, "vm0"));
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
}

FIXTURE_TEARDOWN(rx)
{
}

TEST_F(rx, whole_epochs_in_sequence)
{
	__u64 e;

	for (e = 1; e <= 3; e++) {
		build(KVM_FT_WIRE_EPOCH_BEGIN, e, pl, 0);
		ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
		build(KVM_FT_WIRE_PAGES, e, pl, pages(pl, 3, 1021));
		ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
		ASSERT_EQ(3, self->m.pages.count);
		ASSERT_EQ(1023, kvm_ft_wire_gfn(&self->m, 2));
		ASSERT_EQ(2, self->m.pages.data[2 * KVM_FT_WIRE_PAGE_SIZE + 17]);
		build(KVM_FT_WIRE_VCPU, e, pl, vcpu(pl, 1, 100));
		ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
		ASSERT_EQ(1, self->m.vcpu.index);
		ASSERT_EQ(100, self->m.vcpu.size);
		build(KVM_FT_WIRE_DEVICE, e, "devstate", 8);
		ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
		ASSERT_EQ(0, memcmp(self->m.device.data, "devstate", 8));
		build(KVM_FT_WIRE_HEARTBEAT, 0, pl, 0);
		ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
		build(KVM_FT_WIRE_EPOCH_END, e, pl, end(pl, 3, 1, 8));
		ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
		ASSERT_EQ(e, self->rx.last_epoch);
	}
}

/*
 * ZERO frames: numbers only, checked as PAGES' are (in range, in an
 * epoch), and counted among the epoch's pages.
 */
TEST_F(rx, zero_frames_count_as_pages)
{
	build(KVM_FT_WIRE_EPOCH_BEGIN, 1, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_ZERO, 1, pl, zero(pl, 3, 1021));
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	EXPECT_EQ(3, self->m.pages.count);
	EXPECT_EQ(1023, kvm_ft_wire_gfn(&self->m, 2));
	EXPECT_EQ(NULL, self->m.pages.data);
	build(KVM_FT_WIRE_ZERO, 1, pl, zero(pl, 2, 1023));		/* 1023, 1024 */
	EXPECT_EQ(KVM_FT_WIRE_E_GFN, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_ZERO, 1, pl, zero(pl, KVM_FT_WIRE_MAX_PAGES, 0));
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_PAGES, 1, pl, pages(pl, 2, 100));
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_EPOCH_END, 1, pl, end(pl, 2 + KVM_FT_WIRE_MAX_PAGES, 0, 0));
	EXPECT_EQ(KVM_FT_WIRE_E_TOTALS, feed(&self->rx, &self->m));	/* the 3 left out */
	build(KVM_FT_WIRE_EPOCH_END, 1, pl, end(pl, 5 + KVM_FT_WIRE_MAX_PAGES, 0, 0));
	EXPECT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	/* Outside an epoch. */
	build(KVM_FT_WIRE_ZERO, 2, pl, zero(pl, 1, 0));
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&self->rx, &self->m));
}

TEST_F(rx, order_and_sequence_refused)
{
	/* Outside an epoch. */
	build(KVM_FT_WIRE_PAGES, 1, pl, pages(pl, 1, 0));
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_EPOCH_END, 1, pl, end(pl, 0, 0, 0));
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&self->rx, &self->m));
	/* A second HELLO, an ACK to a receiver. */
	build(KVM_FT_WIRE_HELLO, 0, pl, hello(pl, 1024, 2, "vm0"));
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_ACK, 1, pl, 0);
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&self->rx, &self->m));
	/* Epochs start at 1 and have no gaps. */
	build(KVM_FT_WIRE_EPOCH_BEGIN, 2, pl, 0);
	EXPECT_EQ(KVM_FT_WIRE_E_EPOCH, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_EPOCH_BEGIN, 1, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&self->rx, &self->m));	/* nested */
	build(KVM_FT_WIRE_PAGES, 7, pl, pages(pl, 1, 0));
	EXPECT_EQ(KVM_FT_WIRE_E_EPOCH, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_DEVICE, 1, "x", 1);
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&self->rx, &self->m));	/* two blobs */
	/* Totals that disagree with what arrived: the epoch is not closed. */
	build(KVM_FT_WIRE_EPOCH_END, 1, pl, end(pl, 1, 0, 1));
	EXPECT_EQ(KVM_FT_WIRE_E_TOTALS, feed(&self->rx, &self->m));
	EXPECT_EQ(0, self->rx.last_epoch);
	build(KVM_FT_WIRE_EPOCH_END, 1, pl, end(pl, 0, 0, 1));
	EXPECT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	EXPECT_EQ(1, self->rx.last_epoch);
}

TEST_F(rx, out_of_range_refused)
{
	build(KVM_FT_WIRE_EPOCH_BEGIN, 1, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_PAGES, 1, pl, pages(pl, 2, 1023));	/* 1023, 1024 */
	EXPECT_EQ(KVM_FT_WIRE_E_GFN, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_PAGES, 1, pl, pages(pl, 1, ~0ULL));
	EXPECT_EQ(KVM_FT_WIRE_E_GFN, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_VCPU, 1, pl, vcpu(pl, 2, 8));
	EXPECT_EQ(KVM_FT_WIRE_E_VCPU, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_VCPU, 1, pl, vcpu(pl, 0xffffffff, 8));
	EXPECT_EQ(KVM_FT_WIRE_E_VCPU, feed(&self->rx, &self->m));
	EXPECT_EQ(0, self->rx.pages);
	EXPECT_EQ(0, self->rx.vcpus);
}

TEST(hello_shape_refused)
{
	struct kvm_ft_wire_rx rx = { .mem_pages = 1024, .nr_vcpus = 2,
				     .flags = KVM_FT_WIRE_HELLO_F_DEVICE,
				     .gfn_valid = gfn_below_1024 };
	struct kvm_ft_wire_msg m;

	/* Device state on one side only; flags this version does not know. */
	hello(pl, 1024, 2, "vm0");
	kvm_ft_wire_put_le32(pl + 12, 0);
	build(KVM_FT_WIRE_HELLO, 0, pl, sizeof(struct kvm_ft_wire_hello));
	EXPECT_EQ(KVM_FT_WIRE_E_SHAPE, feed(&rx, &m));
	kvm_ft_wire_put_le32(pl + 12, KVM_FT_WIRE_HELLO_F_DEVICE | 2);
	build(KVM_FT_WIRE_HELLO, 0, pl, sizeof(struct kvm_ft_wire_hello));
	EXPECT_EQ(KVM_FT_WIRE_E_RESERVED, feed(&rx, &m));
	build(KVM_FT_WIRE_HELLO, 0, pl, hello(pl, 2048, 2, "vm0"));
	EXPECT_EQ(KVM_FT_WIRE_E_SHAPE, feed(&rx, &m));
	build(KVM_FT_WIRE_HELLO, 0, pl, hello(pl, 1024, 1, "vm0"));
	EXPECT_EQ(KVM_FT_WIRE_E_SHAPE, feed(&rx, &m));
	hello(pl, 1024, 2, "vm0");
	memset(pl + 16, 'x', KVM_FT_NAME_LEN);		/* no NUL */
	build(KVM_FT_WIRE_HELLO, 0, pl, sizeof(struct kvm_ft_wire_hello));
	EXPECT_EQ(KVM_FT_WIRE_E_LEN, feed(&rx, &m));
	/* Nothing but HELLO before HELLO. */
	build(KVM_FT_WIRE_EPOCH_BEGIN, 1, pl, 0);
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&rx, &m));
	EXPECT_EQ(0, rx.hello_seen);
}

/*
 * The VMMs' digests of their machines (KVM_FT_DEVICE_SETUP's machine)
 * must agree: a backup whose QEMU has other devices could not load the
 * primary's device state at a takeover.
 */
TEST(hello_machine_refused)
{
	struct kvm_ft_wire_rx rx = { .mem_pages = 1024, .nr_vcpus = 2,
				     .flags = KVM_FT_WIRE_HELLO_F_DEVICE, .machine = 0x1234abcd,
				     .gfn_valid = gfn_below_1024 };
	const int machine_off = 16 + KVM_FT_NAME_LEN;
	struct kvm_ft_wire_msg m;

	hello(pl, 1024, 2, "vm0");
	build(KVM_FT_WIRE_HELLO, 0, pl, sizeof(struct kvm_ft_wire_hello));
	EXPECT_EQ(KVM_FT_WIRE_E_MACHINE, feed(&rx, &m));
	kvm_ft_wire_put_le32(pl + machine_off, 0x1234abcc);
	build(KVM_FT_WIRE_HELLO, 0, pl, sizeof(struct kvm_ft_wire_hello));
	EXPECT_EQ(KVM_FT_WIRE_E_MACHINE, feed(&rx, &m));
	kvm_ft_wire_put_le32(pl + machine_off + 4, 1);	/* reserved */
	kvm_ft_wire_put_le32(pl + machine_off, 0x1234abcd);
	build(KVM_FT_WIRE_HELLO, 0, pl, sizeof(struct kvm_ft_wire_hello));
	EXPECT_EQ(KVM_FT_WIRE_E_RESERVED, feed(&rx, &m));
	EXPECT_EQ(0, rx.hello_seen);
	kvm_ft_wire_put_le32(pl + machine_off + 4, 0);
	build(KVM_FT_WIRE_HELLO, 0, pl, sizeof(struct kvm_ft_wire_hello));
	EXPECT_EQ(KVM_FT_WIRE_OK, feed(&rx, &m));
	EXPECT_EQ(0x1234abcd, m.hello.machine);
	EXPECT_EQ(1, rx.hello_seen);
}

/* A VM without device state: a DEVICE frame has no place in its stream. */
TEST(device_without_devices_refused)
{
	struct kvm_ft_wire_rx rx = { .mem_pages = 1024, .nr_vcpus = 2,
				     .gfn_valid = gfn_below_1024 };
	struct kvm_ft_wire_msg m;

	hello(pl, 1024, 2, "vm0");
	kvm_ft_wire_put_le32(pl + 12, 0);
	build(KVM_FT_WIRE_HELLO, 0, pl, sizeof(struct kvm_ft_wire_hello));
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&rx, &m));
	build(KVM_FT_WIRE_EPOCH_BEGIN, 1, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&rx, &m));
	build(KVM_FT_WIRE_DEVICE, 1, "x", 1);
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&rx, &m));
}

TEST(header_refused)
{
	struct kvm_ft_wire_msg m;

	build(KVM_FT_WIRE_HEARTBEAT, 0, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, kvm_ft_wire_decode_hdr(frame, &m));
	frame[0] ^= 1;
	EXPECT_EQ(KVM_FT_WIRE_E_MAGIC, kvm_ft_wire_decode_hdr(frame, &m));
	build(KVM_FT_WIRE_HEARTBEAT, 0, pl, 0);
	frame[4] = 1;		/* an older release's */
	EXPECT_EQ(KVM_FT_WIRE_E_VERSION, kvm_ft_wire_decode_hdr(frame, &m));
	frame[4] = KVM_FT_WIRE_VERSION + 1;
	EXPECT_EQ(KVM_FT_WIRE_E_VERSION, kvm_ft_wire_decode_hdr(frame, &m));
	build(KVM_FT_WIRE_HEARTBEAT, 0, pl, 0);
	frame[5] = 0;
	EXPECT_EQ(KVM_FT_WIRE_E_TYPE, kvm_ft_wire_decode_hdr(frame, &m));
	frame[5] = KVM_FT_WIRE_DEVICE_DELTA + 1;
	EXPECT_EQ(KVM_FT_WIRE_E_TYPE, kvm_ft_wire_decode_hdr(frame, &m));
	build(KVM_FT_WIRE_HEARTBEAT, 0, pl, 0);
	frame[7] = 1;
	EXPECT_EQ(KVM_FT_WIRE_E_RESERVED, kvm_ft_wire_decode_hdr(frame, &m));
}

TEST(lengths_refused)
{
	static const struct { __u8 type; __u32 len; } bad[] = {
		{ KVM_FT_WIRE_HELLO, sizeof(struct kvm_ft_wire_hello) - 1 },
		{ KVM_FT_WIRE_EPOCH_BEGIN, 1 },
		{ KVM_FT_WIRE_HEARTBEAT, 0xffffffff },
		{ KVM_FT_WIRE_PAGES, 8 },
		{ KVM_FT_WIRE_PAGES, 8 + (KVM_FT_WIRE_MAX_PAGES + 1) * (8 + KVM_FT_WIRE_PAGE_SIZE) },
		{ KVM_FT_WIRE_VCPU, 8 },
		{ KVM_FT_WIRE_VCPU, 9 + KVM_FT_WIRE_MAX_VCPU_STATE },
		{ KVM_FT_WIRE_DEVICE, 0 },
		{ KVM_FT_WIRE_DEVICE, KVM_FT_WIRE_MAX_DEVICE + 1 },
		{ KVM_FT_WIRE_EPOCH_END, 17 },
		{ KVM_FT_WIRE_ZERO, 8 },
		{ KVM_FT_WIRE_ZERO, 8 + (KVM_FT_WIRE_MAX_PAGES + 1) * 8 },
		{ KVM_FT_WIRE_DELTA, 8 },
		{ KVM_FT_WIRE_DELTA, 8 + KVM_FT_WIRE_MAX_PAGES *
				     (sizeof(struct kvm_ft_wire_delta) + KVM_FT_WIRE_DELTA_MAX) + 1 },
		{ KVM_FT_WIRE_VCPU_DELTA, sizeof(struct kvm_ft_wire_vcpu_delta) - 1 },
		{ KVM_FT_WIRE_VCPU_DELTA, sizeof(struct kvm_ft_wire_vcpu_delta) +
					  KVM_FT_WIRE_VCPU_DELTA_MAX + 1 },
		{ KVM_FT_WIRE_DEVICE_DELTA, sizeof(struct kvm_ft_wire_device_delta) - 1 },
		{ KVM_FT_WIRE_DEVICE_DELTA, sizeof(struct kvm_ft_wire_device_delta) +
					    KVM_FT_WIRE_DEVICE_DELTA_MAX + 1 },
	};
	struct kvm_ft_wire_msg m;
	int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		kvm_ft_wire_put_hdr(frame, bad[i].type, 1, bad[i].len);
		EXPECT_EQ(KVM_FT_WIRE_E_LEN, kvm_ft_wire_decode_hdr(frame, &m))
			TH_LOG("type %u len %u", bad[i].type, bad[i].len);
	}

	/* Inside the bound for the type, but inconsistent with the payload. */
	pages(pl, 2, 0);
	build(KVM_FT_WIRE_PAGES, 1, pl, 8 + 2 * (8 + KVM_FT_WIRE_PAGE_SIZE) - 1);
	EXPECT_EQ(KVM_FT_WIRE_E_LEN, decode(&m));
	pages(pl, 0, 0);
	build(KVM_FT_WIRE_PAGES, 1, pl, 8 + 8 + KVM_FT_WIRE_PAGE_SIZE);
	EXPECT_EQ(KVM_FT_WIRE_E_LEN, decode(&m));
	vcpu(pl, 0, 16);
	build(KVM_FT_WIRE_VCPU, 1, pl, 8 + 15);
	EXPECT_EQ(KVM_FT_WIRE_E_LEN, decode(&m));
	zero(pl, 3, 0);			/* says 3, has 2 */
	build(KVM_FT_WIRE_ZERO, 1, pl, 8 + 2 * 8);
	EXPECT_EQ(KVM_FT_WIRE_E_LEN, decode(&m));
	zero(pl, 1, 0);
	kvm_ft_wire_put_le32(pl + 4, 1);
	build(KVM_FT_WIRE_ZERO, 1, pl, 8 + 8);
	EXPECT_EQ(KVM_FT_WIRE_E_RESERVED, decode(&m));
}

/*
 * What a backup sends its primary: ACK and HEARTBEAT headers only.  A
 * header of any type whose payload was not read (NULL) is refused without
 * touching it: a PAGES header with a legal length once made the primary
 * checksum a NULL payload.
 */
TEST(replies_from_a_backup)
{
	static const __u8 types[] = {
		KVM_FT_WIRE_HELLO, KVM_FT_WIRE_PAGES, KVM_FT_WIRE_VCPU, KVM_FT_WIRE_DEVICE,
		KVM_FT_WIRE_EPOCH_END, KVM_FT_WIRE_VERIFY, KVM_FT_WIRE_ZERO, KVM_FT_WIRE_DELTA,
		KVM_FT_WIRE_VCPU_DELTA, KVM_FT_WIRE_DEVICE_DELTA,
	};
	static const __u32 lens[] = {
		sizeof(struct kvm_ft_wire_hello), 8 + 8 + KVM_FT_WIRE_PAGE_SIZE, 8 + 16, 1,
		sizeof(struct kvm_ft_wire_epoch_end), sizeof(struct kvm_ft_wire_verify), 8 + 8,
		8 + sizeof(struct kvm_ft_wire_delta), sizeof(struct kvm_ft_wire_vcpu_delta),
		sizeof(struct kvm_ft_wire_device_delta),
	};
	struct kvm_ft_wire_msg m;
	int i;

	build(KVM_FT_WIRE_ACK, 7, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, kvm_ft_wire_decode_reply(frame, 0, &m));
	EXPECT_EQ(KVM_FT_WIRE_ACK, m.type);
	EXPECT_EQ(7, m.epoch);
	build(KVM_FT_WIRE_HEARTBEAT, 0, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, kvm_ft_wire_decode_reply(frame, 0, &m));
	frame[16] ^= 1;
	EXPECT_EQ(KVM_FT_WIRE_E_CRC, kvm_ft_wire_decode_reply(frame, 0, &m));
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		kvm_ft_wire_put_hdr(frame, types[i], 1, lens[i]);
		ASSERT_EQ(KVM_FT_WIRE_OK, kvm_ft_wire_decode_hdr(frame, &m)) TH_LOG("type %u", types[i]);
		EXPECT_EQ(KVM_FT_WIRE_E_LEN, kvm_ft_wire_decode(frame, NULL, 0, &m))
			TH_LOG("type %u", types[i]);
		EXPECT_EQ(KVM_FT_WIRE_E_ORDER, kvm_ft_wire_decode_reply(frame, 0, &m))
			TH_LOG("type %u", types[i]);
	}
}

/* ---- DELTA ------------------------------------------------------------ */

static __u8 base_page[KVM_FT_WIRE_PAGE_SIZE], page_after[KVM_FT_WIRE_PAGE_SIZE];

static void some_page(__u8 *page, __u8 seed)
{
	__u32 i;

	for (i = 0; i < KVM_FT_WIRE_PAGE_SIZE; i++)
		page[i] = seed + i * 7 + (i >> 5);
}

/* A delta round-trips: decoded, counted as a page, applied to its base only. */
TEST_F(rx, delta_applies_to_its_base_only)
{
	struct kvm_ft_wire_delta_page d;
	__u8 copy[KVM_FT_WIRE_PAGE_SIZE];

	some_page(base_page, 3);
	build(KVM_FT_WIRE_EPOCH_BEGIN, 1, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_DELTA, 1, pl, delta1(pl, 5, base_page, 0xee, page_after));
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&self->rx, &self->m)) TH_LOG("not in the sync");
	build(KVM_FT_WIRE_EPOCH_END, 1, pl, end(pl, 0, 0, 0));
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_EPOCH_BEGIN, 2, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_DELTA, 2, pl, delta1(pl, 5, base_page, 0xee, page_after));
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	ASSERT_EQ(1, self->m.delta.count);
	EXPECT_EQ(self->m.len - 8, kvm_ft_wire_delta_get(&self->m, 0, &d));
	EXPECT_EQ(5, d.gfn);
	EXPECT_EQ(2 * 4 + 8 + 1, d.len) TH_LOG("two runs: 8 bytes at 100, 1 at 3000");
	memcpy(copy, base_page, sizeof(copy));
	ASSERT_EQ(KVM_FT_WIRE_OK, kvm_ft_wire_delta_apply(copy, &d));
	EXPECT_EQ(0, memcmp(copy, page_after, sizeof(copy)));
	/* Applied again: its base is gone. */
	EXPECT_EQ(KVM_FT_WIRE_E_DELTA, kvm_ft_wire_delta_apply(copy, &d));
	EXPECT_EQ(0, memcmp(copy, page_after, sizeof(copy))) TH_LOG("refused, left alone");
	/* A base one bit off. */
	memcpy(copy, base_page, sizeof(copy));
	copy[4095] ^= 0x10;
	EXPECT_EQ(KVM_FT_WIRE_E_DELTA, kvm_ft_wire_delta_apply(copy, &d));
	build(KVM_FT_WIRE_DELTA, 2, pl, delta1(pl, 1024, base_page, 1, NULL));
	EXPECT_EQ(KVM_FT_WIRE_E_GFN, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_EPOCH_END, 2, pl, end(pl, 1, 0, 0));
	EXPECT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m)) TH_LOG("deltas count as pages");
}

/* Unchanged: no runs; changed all over: more than a delta may carry. */
TEST(delta_runs_bounded)
{
	__u8 out[KVM_FT_WIRE_DELTA_MAX + 64], other[KVM_FT_WIRE_PAGE_SIZE];
	__u32 i;

	some_page(base_page, 9);
	EXPECT_EQ(0, kvm_ft_wire_delta_runs(base_page, base_page, out));
	some_page(other, 10);
	EXPECT_LT(KVM_FT_WIRE_DELTA_MAX, kvm_ft_wire_delta_runs(base_page, other, out));
	/* One byte in every other word: many runs of one byte, 5 bytes each. */
	memcpy(other, base_page, sizeof(other));
	for (i = 0; i < 200; i++)
		other[i * 16 + 3] ^= 0xff;
	EXPECT_EQ(200 * 5, kvm_ft_wire_delta_runs(base_page, other, out));
	/* The first and last bytes of the page. */
	memcpy(other, base_page, sizeof(other));
	other[0] ^= 1;
	other[4095] ^= 1;
	EXPECT_EQ(2 * 5, kvm_ft_wire_delta_runs(base_page, other, out));
}

/* Runs out of order, overlapping, past the page, or longer than the page's length: refused. */
TEST(delta_malformed_refused)
{
	static const struct { __u16 off, n; } bad[][2] = {
		{ { 100, 8 }, { 50, 1 } },		/* out of order */
		{ { 100, 8 }, { 104, 1 } },		/* overlapping */
		{ { 4090, 8 }, { 0, 0 } },		/* past the page */
		{ { 100, 0 }, { 0, 0 } },		/* empty run */
	};
	struct kvm_ft_wire_msg m;
	__u32 i, h, len, r;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		h = kvm_ft_wire_put_delta_hdr(pl, 1);
		len = 0;
		for (r = 0; r < 2 && (r == 0 || bad[i][r].n); r++) {
			__u8 *run = pl + h + sizeof(struct kvm_ft_wire_delta) + len;

			run[0] = bad[i][r].off;
			run[1] = bad[i][r].off >> 8;
			run[2] = bad[i][r].n;
			run[3] = bad[i][r].n >> 8;
			memset(run + 4, 0x5a, bad[i][r].n);
			len += 4 + bad[i][r].n;
		}
		build(KVM_FT_WIRE_DELTA, 2, pl, h + kvm_ft_wire_put_delta(pl + h, 1, 0, 0, len));
		EXPECT_EQ(KVM_FT_WIRE_E_LEN, decode(&m)) TH_LOG("case %u", i);
	}
	/* A page's length past the frame's end, or short of it. */
	some_page(base_page, 1);
	len = delta1(pl, 1, base_page, 2, NULL);
	build(KVM_FT_WIRE_DELTA, 2, pl, len);
	ASSERT_EQ(KVM_FT_WIRE_OK, decode(&m));
	build(KVM_FT_WIRE_DELTA, 2, pl, len - 1);
	EXPECT_EQ(KVM_FT_WIRE_E_LEN, decode(&m));
	memset(pl + len, 0, 4);
	build(KVM_FT_WIRE_DELTA, 2, pl, len + 4);
	EXPECT_EQ(KVM_FT_WIRE_E_LEN, decode(&m));
	/* Says two pages, has one. */
	kvm_ft_wire_put_le32(pl, 2);
	build(KVM_FT_WIRE_DELTA, 2, pl, len);
	EXPECT_EQ(KVM_FT_WIRE_E_LEN, decode(&m));
	/* Runs longer than a delta may be. */
	h = kvm_ft_wire_put_delta_hdr(pl, 1);
	build(KVM_FT_WIRE_DELTA, 2, pl, h + kvm_ft_wire_put_delta(pl + h, 1, 0, 0,
								  KVM_FT_WIRE_DELTA_MAX + 1));
	EXPECT_EQ(KVM_FT_WIRE_E_LEN, decode(&m));
}

/* ---- VCPU_DELTA ------------------------------------------------------- */

#define VSIZE	1237	/* a state's length; not a multiple of 8: the tail counts too */
#define VHDR	sizeof(struct kvm_ft_wire_vcpu_delta)

static __u8 vbase[VSIZE], vafter[VSIZE];

/*
 * A VCPU_DELTA payload for vCPU @index against its state of epoch @base,
 * vbase: bytes 8..15 and the last set to @v (two runs), into vafter.
 */
static __u32 vdelta1(__u8 *p, __u32 index, __u64 base, __u8 v)
{
	__u32 len, i;

	for (i = 0; i < VSIZE; i++)
		vbase[i] = i * 13 + (i >> 4);
	memcpy(vafter, vbase, VSIZE);
	memset(vafter + 8, v, 8);
	vafter[VSIZE - 1] = v;
	len = kvm_ft_wire_vcpu_runs(vbase, vafter, VSIZE, p + VHDR);
	return kvm_ft_wire_put_vcpu_delta(p, index, VSIZE, base, len);
}

/* A vCPU's delta round-trips, counts as its VCPU frame, applies to its base only. */
TEST_F(rx, vcpu_delta_applies_to_its_base_only)
{
	__u8 state[VSIZE];

	build(KVM_FT_WIRE_EPOCH_BEGIN, 1, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_VCPU, 1, pl, vcpu(pl, 0, VSIZE));
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_EPOCH_END, 1, pl, end(pl, 0, 1, 0));
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_EPOCH_BEGIN, 2, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));

	build(KVM_FT_WIRE_VCPU_DELTA, 2, pl, vdelta1(pl, 1, 1, 0xee));
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	EXPECT_EQ(1, self->m.vcpu_delta.index);
	EXPECT_EQ(VSIZE, self->m.vcpu_delta.size);
	EXPECT_EQ(1, self->m.vcpu_delta.base);
	EXPECT_EQ(4 + 8 + 4 + 1, self->m.vcpu_delta.len) TH_LOG("8 bytes at 8, the last byte");
	memcpy(state, vbase, VSIZE);
	ASSERT_EQ(KVM_FT_WIRE_OK, kvm_ft_wire_vcpu_delta_apply(state, VSIZE, 1, &self->m));
	EXPECT_EQ(0, memcmp(state, vafter, VSIZE));
	/* Another epoch's state, another length, none: refused, left alone. */
	memcpy(state, vbase, VSIZE);
	EXPECT_EQ(KVM_FT_WIRE_E_DELTA, kvm_ft_wire_vcpu_delta_apply(state, VSIZE, 2, &self->m));
	EXPECT_EQ(KVM_FT_WIRE_E_DELTA, kvm_ft_wire_vcpu_delta_apply(state, VSIZE - 1, 1, &self->m));
	EXPECT_EQ(KVM_FT_WIRE_E_DELTA, kvm_ft_wire_vcpu_delta_apply(state, VSIZE, 0, &self->m));
	EXPECT_EQ(0, memcmp(state, vbase, VSIZE));

	build(KVM_FT_WIRE_VCPU_DELTA, 2, pl, vdelta1(pl, 2, 1, 0xee));
	EXPECT_EQ(KVM_FT_WIRE_E_VCPU, feed(&self->rx, &self->m)) TH_LOG("two vCPUs: 0 and 1");
	build(KVM_FT_WIRE_EPOCH_END, 2, pl, end(pl, 0, 1, 0));
	EXPECT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m)) TH_LOG("counted as a VCPU frame");
}

/* Unchanged: no runs; changed all over: whole; a change in a short tail is found. */
TEST(vcpu_runs_bounded)
{
	static __u8 a[KVM_FT_WIRE_VCPU_MAX], b[KVM_FT_WIRE_VCPU_MAX], out[KVM_FT_WIRE_VCPU_DELTA_MAX + 64];
	__u32 i;

	for (i = 0; i < sizeof(a); i++) {
		a[i] = i * 7;
		b[i] = ~a[i];
	}
	EXPECT_EQ(0, kvm_ft_wire_vcpu_runs(a, a, sizeof(a), out));
	EXPECT_LT(KVM_FT_WIRE_VCPU_DELTA_MAX, kvm_ft_wire_vcpu_runs(a, b, sizeof(a), out));
	memcpy(b, a, 13);
	b[12] ^= 1;
	ASSERT_EQ(5, kvm_ft_wire_vcpu_runs(a, b, 13, out));
	EXPECT_EQ(12, out[0]);
	EXPECT_EQ(1, out[2]);
	EXPECT_EQ(b[12], out[4]);
}

/*
 * What a sender does with its copy after making a delta: the runs put into
 * the copy make it the page, whatever changed (one byte, words apart,
 * runs meeting, the ends).  And a state's runs, its tail included.
 */
TEST(runs_put_make_the_page)
{
	static __u8 page[KVM_FT_WIRE_PAGE_SIZE], copy[KVM_FT_WIRE_PAGE_SIZE];
	static __u8 runs[KVM_FT_WIRE_VCPU_DELTA_MAX + 64];
	unsigned int seed = 20261206, round, k, len;

	for (round = 0; round < 200; round++) {
		some_page(base_page, round);
		memcpy(page, base_page, sizeof(page));
		for (k = 0; k < round % 40 + 1; k++)
			page[rand_r(&seed) % sizeof(page)] ^= 1 + rand_r(&seed) % 255;
		if (round % 7 == 0) {
			page[0] ^= 0x80;
			page[sizeof(page) - 1] ^= 0x80;
		}
		len = kvm_ft_wire_delta_runs(base_page, page, runs);
		ASSERT_GE(KVM_FT_WIRE_DELTA_MAX, len) TH_LOG("round %u", round);
		memcpy(copy, base_page, sizeof(copy));
		kvm_ft_wire_put_runs(copy, runs, len);
		ASSERT_EQ(0, memcmp(copy, page, sizeof(page))) TH_LOG("round %u", round);
		/* And the page's checksum follows from the base's and the runs'. */
		ASSERT_EQ(kvm_ft_wire_page_crc(page),
			  kvm_ft_wire_runs_crc(kvm_ft_wire_page_crc(base_page), base_page, runs, len))
			TH_LOG("round %u", round);
		/* As a vCPU's state of an odd length: its tail counts. */
		len = kvm_ft_wire_vcpu_runs(base_page, page, 1237 + round, runs);
		memcpy(copy, base_page, sizeof(copy));
		kvm_ft_wire_put_runs(copy, runs, len);
		ASSERT_EQ(0, memcmp(copy, page, 1237 + round)) TH_LOG("round %u", round);
	}
}

/* Runs past the state, out of order, no state, too large a state, no base: refused. */
TEST(vcpu_delta_malformed_refused)
{
	static const struct { __u32 size; __u16 off, n; __u64 base; int err; } bad[] = {
		{ 16, 10, 8, 1, KVM_FT_WIRE_E_LEN },		/* past the state */
		{ 0, 0, 1, 1, KVM_FT_WIRE_E_LEN },		/* no state */
		{ KVM_FT_WIRE_VCPU_MAX + 1, 0, 1, 1, KVM_FT_WIRE_E_LEN },
		{ 16, 0, 0, 1, KVM_FT_WIRE_E_LEN },		/* an empty run */
		{ 16, 0, 1, 0, KVM_FT_WIRE_E_DELTA },		/* epoch 0 is no base */
	};
	struct kvm_ft_wire_msg m;
	__u8 *run = pl + VHDR;
	__u32 i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		run[0] = bad[i].off;
		run[1] = bad[i].off >> 8;
		run[2] = bad[i].n;
		run[3] = bad[i].n >> 8;
		memset(run + 4, 0x5a, bad[i].n);
		build(KVM_FT_WIRE_VCPU_DELTA, 2, pl,
		      kvm_ft_wire_put_vcpu_delta(pl, 0, bad[i].size, bad[i].base, 4 + bad[i].n));
		EXPECT_EQ(bad[i].err, decode(&m)) TH_LOG("case %u", i);
	}
	/* Two runs out of order. */
	memcpy(run, "\x08\0\x01\0\xaa\x04\0\x01\0\xbb", 10);
	build(KVM_FT_WIRE_VCPU_DELTA, 2, pl, kvm_ft_wire_put_vcpu_delta(pl, 0, 16, 1, 10));
	EXPECT_EQ(KVM_FT_WIRE_E_LEN, decode(&m));
	/* No runs at all: nothing changed. */
	build(KVM_FT_WIRE_VCPU_DELTA, 2, pl, kvm_ft_wire_put_vcpu_delta(pl, 0, 16, 1, 0));
	EXPECT_EQ(KVM_FT_WIRE_OK, decode(&m));
	EXPECT_EQ(0, m.vcpu_delta.len);
}

/* ---- DEVICE_DELTA ----------------------------------------------------- */

#define DSIZE	(80 * 1024 + 3)	/* past what 16-bit offsets reach; an odd tail */
#define DHDR	sizeof(struct kvm_ft_wire_device_delta)

static __u8 dbase[DSIZE], dafter[DSIZE];

/*
 * A DEVICE_DELTA payload against the blob of epoch @base, dbase: bytes
 * 8..15, 8 bytes at 70,000 (beyond 64 KiB) and the last set to @v (three
 * runs), into dafter.
 */
static __u32 ddelta(__u8 *p, __u64 base, __u8 v)
{
	__u32 len, i;

	for (i = 0; i < DSIZE; i++)
		dbase[i] = i * 29 + (i >> 9);
	memcpy(dafter, dbase, DSIZE);
	memset(dafter + 8, v, 8);
	memset(dafter + 70000, v, 8);
	dafter[DSIZE - 1] = v;
	len = kvm_ft_wire_device_runs(dbase, dafter, DSIZE, p + DHDR, KVM_FT_WIRE_DEVICE_DELTA_MAX);
	return kvm_ft_wire_put_device_delta(p, DSIZE, base, len);
}

/* A blob's delta round-trips, counts as its DEVICE frame, applies to its base only. */
TEST_F(rx, device_delta_applies_to_its_base_only)
{
	static __u8 blob[DSIZE];

	build(KVM_FT_WIRE_EPOCH_BEGIN, 1, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_DEVICE, 1, "devstate", 8);
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_EPOCH_END, 1, pl, end(pl, 0, 0, 8));
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_EPOCH_BEGIN, 2, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));

	build(KVM_FT_WIRE_DEVICE_DELTA, 2, pl, ddelta(pl, 1, 0xee));
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	EXPECT_EQ(DSIZE, self->m.device_delta.size);
	EXPECT_EQ(1, self->m.device_delta.base);
	EXPECT_EQ(3 * 8 + 8 + 8 + 1, self->m.device_delta.len) TH_LOG("8 at 8, 8 at 70000, 1");
	memcpy(blob, dbase, DSIZE);
	ASSERT_EQ(KVM_FT_WIRE_OK, kvm_ft_wire_device_delta_apply(blob, DSIZE, 1, &self->m));
	EXPECT_EQ(0, memcmp(blob, dafter, DSIZE));
	/* Another epoch's blob, another length, none: refused, left alone. */
	memcpy(blob, dbase, DSIZE);
	EXPECT_EQ(KVM_FT_WIRE_E_DELTA, kvm_ft_wire_device_delta_apply(blob, DSIZE, 2, &self->m));
	EXPECT_EQ(KVM_FT_WIRE_E_DELTA, kvm_ft_wire_device_delta_apply(blob, DSIZE - 1, 1, &self->m));
	EXPECT_EQ(KVM_FT_WIRE_E_DELTA, kvm_ft_wire_device_delta_apply(blob, DSIZE, 0, &self->m));
	EXPECT_EQ(0, memcmp(blob, dbase, DSIZE));

	/* One blob an epoch, whole or not. */
	build(KVM_FT_WIRE_DEVICE, 2, "devstate", 8);
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_DEVICE_DELTA, 2, pl, ddelta(pl, 1, 0xee));
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_EPOCH_END, 2, pl, end(pl, 0, 0, 8));
	EXPECT_EQ(KVM_FT_WIRE_E_TOTALS, feed(&self->rx, &self->m)) TH_LOG("counts its blob's size");
	build(KVM_FT_WIRE_EPOCH_END, 2, pl, end(pl, 0, 0, DSIZE));
	EXPECT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
}

/* Only from a primary that said it sends them, to a VM with device state. */
TEST_F(rx, device_delta_only_where_agreed)
{
	build(KVM_FT_WIRE_EPOCH_BEGIN, 1, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	self->rx.features &= ~KVM_FT_WIRE_FEAT_DEVICE_DELTA;
	build(KVM_FT_WIRE_DEVICE_DELTA, 1, pl, kvm_ft_wire_put_device_delta(pl, 16, 1, 0));
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&self->rx, &self->m));
	self->rx.features = KVM_FT_WIRE_FEAT_ALL;
	self->rx.flags = 0;
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&self->rx, &self->m));
	self->rx.flags = KVM_FT_WIRE_HELLO_F_DEVICE;
	EXPECT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
}

/*
 * Runs past the blob (one whose offset and length wrap around 2^32
 * among them), out of order, empty; no blob, too large a blob, a reserved
 * field set, no base: refused.
 */
TEST(device_delta_malformed_refused)
{
	static const struct { __u32 size, off, n, reserved; __u64 base; int err; } bad[] = {
		{ 16, 10, 8, 0, 1, KVM_FT_WIRE_E_LEN },			/* past the blob */
		{ 16, 0xfffffff8, 8, 0, 1, KVM_FT_WIRE_E_LEN },		/* wraps */
		{ 0x10000, 0x8000, 0xfffffff0, 0, 1, KVM_FT_WIRE_E_LEN },	/* longer than sent */
		{ 0, 0, 1, 0, 1, KVM_FT_WIRE_E_LEN },			/* no blob */
		{ KVM_FT_WIRE_MAX_DEVICE + 1, 0, 1, 0, 1, KVM_FT_WIRE_E_LEN },
		{ 16, 0, 0, 0, 1, KVM_FT_WIRE_E_LEN },			/* an empty run */
		{ 16, 0, 1, 1, 1, KVM_FT_WIRE_E_RESERVED },
		{ 16, 0, 1, 0, 0, KVM_FT_WIRE_E_DELTA },		/* epoch 0 is no base */
	};
	struct kvm_ft_wire_msg m;
	__u8 *run = pl + DHDR;
	__u32 i, n;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		n = bad[i].n < 64 ? bad[i].n : 64;	/* what is sent of it */
		kvm_ft_wire_put_le32(run, bad[i].off);
		kvm_ft_wire_put_le32(run + 4, bad[i].n);
		memset(run + 8, 0x5a, n);
		kvm_ft_wire_put_device_delta(pl, bad[i].size, bad[i].base, 0);
		kvm_ft_wire_put_le32(pl + 4, bad[i].reserved);
		build(KVM_FT_WIRE_DEVICE_DELTA, 2, pl, DHDR + 8 + n);
		EXPECT_EQ(bad[i].err, decode(&m)) TH_LOG("case %u", i);
	}
	/* Two runs out of order. */
	memcpy(run, "\x08\0\0\0\x01\0\0\0\xaa\x04\0\0\0\x01\0\0\0\xbb", 18);
	build(KVM_FT_WIRE_DEVICE_DELTA, 2, pl, kvm_ft_wire_put_device_delta(pl, 16, 1, 18));
	EXPECT_EQ(KVM_FT_WIRE_E_LEN, decode(&m));
	/* In order, they apply; no runs at all: nothing changed. */
	memcpy(run, "\x04\0\0\0\x01\0\0\0\xbb\x08\0\0\0\x01\0\0\0\xaa", 18);
	build(KVM_FT_WIRE_DEVICE_DELTA, 2, pl, kvm_ft_wire_put_device_delta(pl, 16, 1, 18));
	EXPECT_EQ(KVM_FT_WIRE_OK, decode(&m));
	build(KVM_FT_WIRE_DEVICE_DELTA, 2, pl, kvm_ft_wire_put_device_delta(pl, 16, 1, 0));
	EXPECT_EQ(KVM_FT_WIRE_OK, decode(&m));
	EXPECT_EQ(0, m.device_delta.len);
}

/*
 * What the sender does with its base: the runs put into it make the blob,
 * whatever changed, at any offset of a blob past 64 KiB; more than the
 * bound asked: more returned, whole.
 */
TEST(device_runs_make_the_blob)
{
	static __u8 blob[DSIZE], copy[DSIZE], runs[KVM_FT_WIRE_DEVICE_DELTA_MAX + 64];
	unsigned int seed = 20261207, round, k, len;

	for (k = 0; k < DSIZE; k++)
		dbase[k] = k * 31 + (k >> 11);
	for (round = 0; round < 100; round++) {
		memcpy(blob, dbase, DSIZE);
		for (k = 0; k < round % 50 + 1; k++)
			blob[rand_r(&seed) % DSIZE] ^= 1 + rand_r(&seed) % 255;
		if (round % 9 == 0) {
			blob[0] ^= 0x80;
			blob[DSIZE - 1] ^= 0x80;
		}
		len = kvm_ft_wire_device_runs(dbase, blob, DSIZE, runs, KVM_FT_WIRE_DEVICE_DELTA_MAX);
		ASSERT_GE(KVM_FT_WIRE_DEVICE_DELTA_MAX, len) TH_LOG("round %u", round);
		memcpy(copy, dbase, DSIZE);
		kvm_ft_wire_put_device_runs(copy, runs, len);
		ASSERT_EQ(0, memcmp(copy, blob, DSIZE)) TH_LOG("round %u", round);
	}
	EXPECT_EQ(0, kvm_ft_wire_device_runs(dbase, dbase, DSIZE, runs, 100));
	for (k = 0; k < DSIZE; k++)
		blob[k] = ~dbase[k];
	EXPECT_EQ(101, kvm_ft_wire_device_runs(dbase, blob, DSIZE, runs, 100));
	EXPECT_EQ(KVM_FT_WIRE_DEVICE_DELTA_MAX + 1,
		  kvm_ft_wire_device_runs(dbase, blob, DSIZE, runs, KVM_FT_WIRE_DEVICE_DELTA_MAX + 99))
		TH_LOG("the bound is the protocol's at most");
}

TEST(every_flipped_bit_refused)
{
	struct kvm_ft_wire_msg m;
	__u32 len = vcpu(pl, 1, 40), i, bitn;

	build(KVM_FT_WIRE_VCPU, 5, pl, len);
	ASSERT_EQ(KVM_FT_WIRE_OK, decode(&m));
	for (i = 0; i < HDR + len; i++) {
		for (bitn = 0; bitn < 8; bitn++) {
			frame[i] ^= 1 << bitn;
			EXPECT_NE(KVM_FT_WIRE_OK, decode(&m)) TH_LOG("byte %u bit %u", i, bitn);
			frame[i] ^= 1 << bitn;
		}
	}
	ASSERT_EQ(KVM_FT_WIRE_OK, decode(&m));
}

/* A receiver whose handshake agreed on @features only, in epoch 1. */
static int in_epoch_with(struct kvm_ft_wire_rx *rx, __u32 features)
{
	struct kvm_ft_wire_msg m;
	int err;

	*rx = (struct kvm_ft_wire_rx){ .mem_pages = 1024, .nr_vcpus = 2,
				       .flags = KVM_FT_WIRE_HELLO_F_DEVICE,
				       .gfn_valid = gfn_below_1024, .features = features };
	build(KVM_FT_WIRE_HELLO, 0, pl, hello(pl, 1024, 2, "vm0"));
	err = feed(rx, &m);
	if (err)
		return err;
	build(KVM_FT_WIRE_EPOCH_BEGIN, 1, pl, 0);
	return feed(rx, &m);
}

TEST(verify_only_if_both_speak_it)
{
	struct kvm_ft_wire_rx rx;
	struct kvm_ft_wire_msg m;

	ASSERT_EQ(KVM_FT_WIRE_OK, in_epoch_with(&rx, KVM_FT_WIRE_FEAT_ZERO));
	memset(pl, 0, 8);
	build(KVM_FT_WIRE_VERIFY, 1, pl, 8);
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&rx, &m));
}

/* A backup that did not say it takes ZERO frames refuses them. */
TEST(zero_only_if_both_speak_it)
{
	struct kvm_ft_wire_rx rx;
	struct kvm_ft_wire_msg m;

	ASSERT_EQ(KVM_FT_WIRE_OK, in_epoch_with(&rx, KVM_FT_WIRE_FEAT_VERIFY));
	build(KVM_FT_WIRE_ZERO, 1, pl, zero(pl, 1, 0));
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&rx, &m));
	EXPECT_EQ(0, rx.pages);
}

/* A backup that did not say it takes DELTA frames refuses them. */
TEST(delta_only_if_both_speak_it)
{
	struct kvm_ft_wire_rx rx;
	struct kvm_ft_wire_msg m;

	ASSERT_EQ(KVM_FT_WIRE_OK, in_epoch_with(&rx, KVM_FT_WIRE_FEAT_ZERO | KVM_FT_WIRE_FEAT_VERIFY));
	build(KVM_FT_WIRE_EPOCH_END, 1, pl, end(pl, 0, 0, 0));
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&rx, &m));
	build(KVM_FT_WIRE_EPOCH_BEGIN, 2, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&rx, &m));
	some_page(base_page, 4);
	build(KVM_FT_WIRE_DELTA, 2, pl, delta1(pl, 1, base_page, 2, NULL));
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&rx, &m));
	EXPECT_EQ(0, rx.pages);
}

/* A backup that did not say it takes VCPU_DELTA frames refuses them. */
TEST(vcpu_delta_only_if_both_speak_it)
{
	struct kvm_ft_wire_rx rx;
	struct kvm_ft_wire_msg m;

	ASSERT_EQ(KVM_FT_WIRE_OK, in_epoch_with(&rx, KVM_FT_WIRE_FEAT_ALL &
						   ~KVM_FT_WIRE_FEAT_VCPU_DELTA));
	build(KVM_FT_WIRE_VCPU_DELTA, 1, pl, vdelta1(pl, 0, 1, 2));
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&rx, &m));
	EXPECT_EQ(0, rx.vcpus);
}

/* ---- The handshake ------------------------------------------------------- */

static const __u8 key_a[KVM_FT_KEY_LEN] = { 1, 2, 3, 4, 5 };
static const __u8 key_b[KVM_FT_KEY_LEN] = { 1, 2, 3, 4, 6 };

FIXTURE(hs) {
	struct kvm_ft_wire_hs p, b;	/* the primary's side, the backup's */
	__u8 f1[KVM_FT_WIRE_HS_FRAME], f2[KVM_FT_WIRE_HS_FRAME], f3[KVM_FT_WIRE_HS_FRAME];
	__u32 len;
};

static void side(struct kvm_ft_wire_hs *hs, const __u8 *key, const char *name, __u8 seed)
{
	memset(hs, 0, sizeof(*hs));
	hs->keyed = key != NULL;
	if (key)
		memcpy(hs->key, key, KVM_FT_KEY_LEN);
	memset(hs->nonce, seed, sizeof(hs->nonce));
	strcpy(hs->name, name);
	hs->features = KVM_FT_WIRE_FEAT_ALL;
}

FIXTURE_SETUP(hs)
{
	side(&self->p, key_a, "web1", 0x11);
	side(&self->b, key_a, "web1-bk", 0x22);
}

FIXTURE_TEARDOWN(hs)
{
}

/* INIT to the backup, its REPLY (the refusal it returns), then the primary's CONFIRM. */
static int step_reply(FIXTURE_DATA(hs) *self)
{
	kvm_ft_wire_hs_init(&self->p, self->f1);
	return kvm_ft_wire_hs_reply(&self->b, self->f1, self->f1 + HDR, self->f2, &self->len);
}

static int step_confirm(FIXTURE_DATA(hs) *self)
{
	return kvm_ft_wire_hs_confirm(&self->p, self->f2, self->f2 + HDR, self->f3, &self->len);
}

TEST_F(hs, same_key_agrees)
{
	struct useal ps, bs;
	__u8 buf[HDR + 8 + KVM_FT_WIRE_TAG_LEN], sealed[sizeof(buf)];
	size_t n;

	ASSERT_EQ(KVM_FT_WIRE_OK, step_reply(self));
	ASSERT_EQ(KVM_FT_WIRE_OK, step_confirm(self));
	ASSERT_EQ(KVM_FT_WIRE_OK, kvm_ft_wire_hs_proven(&self->p));
	ASSERT_EQ(KVM_FT_WIRE_OK, kvm_ft_wire_hs_done(&self->b, self->f3, self->f3 + HDR));
	EXPECT_EQ(KVM_FT_WIRE_VERSION, self->p.version);
	EXPECT_EQ(KVM_FT_WIRE_VERSION, self->b.version);
	EXPECT_EQ(KVM_FT_WIRE_FEAT_ALL, self->p.common);
	EXPECT_EQ(0, strcmp("web1-bk", self->p.peer));
	EXPECT_EQ(0, strcmp("web1", self->b.peer));
	EXPECT_EQ(0, memcmp(self->p.key_p2b, self->b.key_p2b, KVM_FT_KEY_LEN));
	EXPECT_EQ(0, memcmp(self->p.key_b2p, self->b.key_b2p, KVM_FT_KEY_LEN));
	EXPECT_NE(0, memcmp(self->p.key_p2b, self->p.key_b2p, KVM_FT_KEY_LEN));
	EXPECT_NE(0, memcmp(self->p.key_p2b, key_a, KVM_FT_KEY_LEN));

	/* A frame sealed one way opens the other way, once, and only unaltered. */
	useal_init(&ps, self->p.key_p2b, self->p.key_b2p);
	useal_init(&bs, self->b.key_b2p, self->b.key_p2b);
	kvm_ft_wire_put_hdr(buf, KVM_FT_WIRE_VERIFY, 3, 8);
	memset(buf + HDR, 0x5a, 8);
	n = useal_frame(&ps, buf);
	ASSERT_EQ(HDR + 8 + KVM_FT_WIRE_TAG_LEN, n);
	EXPECT_NE(0x5a, buf[HDR]);		/* encrypted */
	memcpy(sealed, buf, sizeof(buf));
	buf[HDR + 3] ^= 4;
	EXPECT_EQ(-1, useal_open(&bs, buf, buf + HDR, 8, buf + HDR + 8));
	memcpy(buf, sealed, sizeof(buf));	/* a failed open leaves garbage */
	bs.rx_seq = 0;
	ASSERT_EQ(0, useal_open(&bs, buf, buf + HDR, 8, buf + HDR + 8));
	EXPECT_EQ(0x5a, buf[HDR + 7]);
}

TEST_F(hs, replayed_frame_refused)
{
	struct useal ps, bs;
	__u8 buf[HDR + KVM_FT_WIRE_TAG_LEN], copy[sizeof(buf)];

	ASSERT_EQ(KVM_FT_WIRE_OK, step_reply(self));
	ASSERT_EQ(KVM_FT_WIRE_OK, step_confirm(self));
	useal_init(&ps, self->p.key_p2b, self->p.key_b2p);
	useal_init(&bs, self->b.key_b2p, self->b.key_p2b);
	kvm_ft_wire_put_hdr(buf, KVM_FT_WIRE_HEARTBEAT, 0, 0);
	useal_frame(&ps, buf);
	memcpy(copy, buf, sizeof(buf));
	ASSERT_EQ(0, useal_open(&bs, buf, NULL, 0, buf + HDR));
	EXPECT_EQ(-1, useal_open(&bs, copy, NULL, 0, copy + HDR));	/* counter moved on */
}

TEST_F(hs, wrong_key_refused_both_ways)
{
	side(&self->b, key_b, "web1-bk", 0x22);
	ASSERT_EQ(KVM_FT_WIRE_OK, step_reply(self));
	ASSERT_EQ(KVM_FT_WIRE_OK, step_confirm(self));
	EXPECT_EQ(KVM_FT_WIRE_E_KEY, kvm_ft_wire_hs_proven(&self->p));
	EXPECT_EQ(KVM_FT_WIRE_E_KEY, kvm_ft_wire_hs_done(&self->b, self->f3, self->f3 + HDR));
}

TEST_F(hs, key_on_one_side_refused)
{
	side(&self->b, NULL, "web1-bk", 0x22);
	EXPECT_EQ(KVM_FT_WIRE_E_INSECURE, step_reply(self));
	EXPECT_EQ(KVM_FT_WIRE_E_INSECURE, step_confirm(self));	/* the primary is told */
	side(&self->p, NULL, "web1", 0x11);
	side(&self->b, key_a, "web1-bk", 0x22);
	EXPECT_EQ(KVM_FT_WIRE_E_INSECURE, step_reply(self));
}

TEST_F(hs, insecure_on_both_sides_agrees)
{
	side(&self->p, NULL, "web1", 0x11);
	side(&self->b, NULL, "web1-bk", 0x22);
	ASSERT_EQ(KVM_FT_WIRE_OK, step_reply(self));
	ASSERT_EQ(KVM_FT_WIRE_OK, step_confirm(self));
	EXPECT_EQ(KVM_FT_WIRE_OK, kvm_ft_wire_hs_proven(&self->p));
	EXPECT_EQ(KVM_FT_WIRE_OK, kvm_ft_wire_hs_done(&self->b, self->f3, self->f3 + HDR));
}

TEST_F(hs, no_common_version_refused)
{
	self->p.min_version = self->p.max_version = KVM_FT_WIRE_VERSION + 7;
	EXPECT_EQ(KVM_FT_WIRE_E_VERSION, step_reply(self));
	EXPECT_EQ(KVM_FT_WIRE_E_VERSION, step_confirm(self));
	/* A range that reaches down to ours meets at ours. */
	side(&self->b, key_a, "web1-bk", 0x22);
	self->p.min_version = KVM_FT_WIRE_VERSION_MIN;
	EXPECT_EQ(KVM_FT_WIRE_OK, step_reply(self));
	EXPECT_EQ(KVM_FT_WIRE_VERSION, self->b.version);
	EXPECT_EQ(KVM_FT_WIRE_OK, step_confirm(self));
	EXPECT_EQ(KVM_FT_WIRE_VERSION, self->p.version);
}

/*
 * What a man in the middle changes in INIT or REPLY (checksum fixed up:
 * it is no secret) makes the two sides' transcripts differ: no proof
 * checks out.  Each byte of both payloads but the REPLY's proof itself.
 */
TEST_F(hs, any_change_in_transit_refused)
{
	__u32 i, len = sizeof(struct kvm_ft_wire_init);

	for (i = 0; i < len; i++) {
		side(&self->p, key_a, "web1", 0x11);
		side(&self->b, key_a, "web1-bk", 0x22);
		kvm_ft_wire_hs_init(&self->p, self->f1);
		self->f1[HDR + i] ^= 0x80;
		kvm_ft_wire_put_crc(self->f1, self->f1 + HDR);
		if (kvm_ft_wire_hs_reply(&self->b, self->f1, self->f1 + HDR, self->f2, &self->len))
			continue;		/* refused outright: fine too */
		if (step_confirm(self))
			continue;
		EXPECT_EQ(KVM_FT_WIRE_E_KEY, kvm_ft_wire_hs_proven(&self->p)) TH_LOG("INIT byte %u", i);
		EXPECT_EQ(KVM_FT_WIRE_E_KEY, kvm_ft_wire_hs_done(&self->b, self->f3, self->f3 + HDR))
			TH_LOG("INIT byte %u", i);
	}
	len = sizeof(struct kvm_ft_wire_reply) - KVM_FT_WIRE_PROOF_LEN;
	for (i = 0; i < len; i++) {
		side(&self->p, key_a, "web1", 0x11);
		side(&self->b, key_a, "web1-bk", 0x22);
		ASSERT_EQ(KVM_FT_WIRE_OK, step_reply(self));
		self->f2[HDR + i] ^= 0x80;
		kvm_ft_wire_put_crc(self->f2, self->f2 + HDR);
		if (step_confirm(self))
			continue;
		EXPECT_EQ(KVM_FT_WIRE_E_KEY, kvm_ft_wire_hs_proven(&self->p)) TH_LOG("REPLY byte %u", i);
		EXPECT_EQ(KVM_FT_WIRE_E_KEY, kvm_ft_wire_hs_done(&self->b, self->f3, self->f3 + HDR))
			TH_LOG("REPLY byte %u", i);
	}
}

TEST(busy_refusal_reaches_the_primary)
{
	struct kvm_ft_wire_hs p;
	__u8 f[KVM_FT_WIRE_HS_FRAME], c[KVM_FT_WIRE_HS_FRAME];
	__u32 len;

	memset(&p, 0, sizeof(p));
	p.keyed = 1;
	kvm_ft_wire_hs_init(&p, c);
	kvm_ft_wire_hs_refusal(f, KVM_FT_WIRE_E_BUSY);
	EXPECT_EQ(KVM_FT_WIRE_E_BUSY, kvm_ft_wire_hs_confirm(&p, f, f + HDR, c, &len));
}

/* ---- The VCPU frame's state --------------------------------------------- */

static struct kvm_ft_arch_vcpu st1, st2;
static __u8 enc1[KVM_FT_WIRE_VCPU_MAX], enc2[KVM_FT_WIRE_VCPU_MAX];

/* A state with a different byte in every place, its counts in range. */
static void some_state(struct kvm_ft_arch_vcpu *st, __u32 nr_msrs, int lapic)
{
	__u8 *p = (__u8 *)st;
	__u32 i;

	for (i = 0; i < sizeof(*st); i++)
		p[i] = i * 131 + 7;
	st->xcrs.nr_xcrs = 1;
	st->nr_msrs = nr_msrs;
	st->has_lapic = lapic;
	st->mp_state = 3;
}

TEST(vcpu_state_round_trip)
{
	__u32 len, len2, msrs[] = { 0, 1, 57, KVM_FT_NR_MSRS };
	int i, lapic;

	for (i = 0; i < ARRAY_SIZE(msrs); i++) {
		for (lapic = 0; lapic < 2; lapic++) {
			some_state(&st1, msrs[i], lapic);
			len = kvm_ft_wire_put_vcpu(enc1, &st1);
			ASSERT_GE(KVM_FT_WIRE_VCPU_MAX, len);
			EXPECT_EQ(576 + 16 + msrs[i] * 12 + lapic * 1024 + 4096, len);
			ASSERT_EQ(KVM_FT_WIRE_OK, kvm_ft_wire_get_vcpu(enc1, len, &st2));
			/* What crossed is what was sent, byte for byte... */
			len2 = kvm_ft_wire_put_vcpu(enc2, &st2);
			ASSERT_EQ(len, len2);
			EXPECT_EQ(0, memcmp(enc1, enc2, len));
			/* ...and lands in the fields it came from. */
			EXPECT_EQ(st1.regs.rip, st2.regs.rip);
			EXPECT_EQ(st1.regs.rflags, st2.regs.rflags);
			EXPECT_EQ(st1.sregs.cr3, st2.sregs.cr3);
			EXPECT_EQ(st1.sregs.tr.selector, st2.sregs.tr.selector);
			EXPECT_EQ(st1.sregs.ldt.unusable, st2.sregs.ldt.unusable);
			EXPECT_EQ(st1.sregs.idt.limit, st2.sregs.idt.limit);
			EXPECT_EQ(st1.sregs.interrupt_bitmap[3], st2.sregs.interrupt_bitmap[3]);
			EXPECT_EQ(st1.events.exception_payload, st2.events.exception_payload);
			EXPECT_EQ(st1.events.smi.latched_init, st2.events.smi.latched_init);
			EXPECT_EQ(st1.debugregs.dr7, st2.debugregs.dr7);
			EXPECT_EQ(st1.xcrs.xcrs[0].value, st2.xcrs.xcrs[0].value);
			EXPECT_EQ(0, memcmp(st1.xsave.region, st2.xsave.region, sizeof(st1.xsave.region)));
			if (msrs[i])
				EXPECT_EQ(st1.msrs[msrs[i] - 1].data, st2.msrs[msrs[i] - 1].data);
			if (lapic)
				EXPECT_EQ(0, memcmp(st1.lapic.regs, st2.lapic.regs, sizeof(st1.lapic.regs)));
			EXPECT_EQ(st1.mp_state, st2.mp_state);
		}
	}
}

TEST(vcpu_state_refused)
{
	__u32 len;

	some_state(&st1, 10, 1);
	len = kvm_ft_wire_put_vcpu(enc1, &st1);
	EXPECT_EQ(KVM_FT_WIRE_E_LEN, kvm_ft_wire_get_vcpu(enc1, len - 1, &st2));
	EXPECT_EQ(KVM_FT_WIRE_E_LEN, kvm_ft_wire_get_vcpu(enc1, len + 1, &st2));
	EXPECT_EQ(KVM_FT_WIRE_E_LEN, kvm_ft_wire_get_vcpu(enc1, 0, &st2));
	enc1[5] = 1;			/* a reserved byte after has_lapic */
	EXPECT_EQ(KVM_FT_WIRE_E_RESERVED, kvm_ft_wire_get_vcpu(enc1, len, &st2));
	enc1[5] = 0;
	enc1[4] = 2;			/* has_lapic */
	EXPECT_EQ(KVM_FT_WIRE_E_VCPU, kvm_ft_wire_get_vcpu(enc1, len, &st2));
	enc1[4] = 1;
	kvm_ft_wire_put_le32(enc1 + 576 - 8 + 16, KVM_FT_NR_MSRS + 1);	/* nr_msrs */
	EXPECT_EQ(KVM_FT_WIRE_E_VCPU, kvm_ft_wire_get_vcpu(enc1, len, &st2));
	kvm_ft_wire_put_le32(enc1 + 576 - 8 + 16, 10);
	ASSERT_EQ(KVM_FT_WIRE_OK, kvm_ft_wire_get_vcpu(enc1, len, &st2));
	kvm_ft_wire_put_le32(enc1 + len - 4096 - 4, 4095);		/* another XSAVE size */
	EXPECT_EQ(KVM_FT_WIRE_E_VCPU, kvm_ft_wire_get_vcpu(enc1, len, &st2));
}

TEST(strerror_names_every_error)
{
	int e;

	for (e = 0; e < KVM_FT_WIRE_E_MAX; e++)
		EXPECT_NE(0, strcmp("unknown error", kvm_ft_wire_strerror(e)));
	EXPECT_EQ(0, strcmp("unknown error", kvm_ft_wire_strerror(KVM_FT_WIRE_E_MAX)));
	EXPECT_EQ(0, strcmp("unknown error", kvm_ft_wire_strerror(-1)));
}

/*
 * The histograms' buckets (uapi/linux/kvm_ft.h), which the kernel fills
 * and ftnl and the benchmarks read quantiles from: every value falls in
 * the bucket whose bounds hold it, the buckets tile the range in order,
 * and from 4 us each is at most a quarter of its lower end wide.
 */
TEST(histogram_buckets_within_a_quarter)
{
	unsigned long long us, lo, hi;
	unsigned int i, b;

	ASSERT_EQ(0, kvm_ft_hist_lower(0));
	for (i = 0; i + 1 < KVM_FT_HIST_BUCKETS; i++) {
		lo = kvm_ft_hist_lower(i);
		hi = kvm_ft_hist_lower(i + 1);
		ASSERT_LT(lo, hi) TH_LOG("bucket %u", i);
		if (lo >= 4)
			EXPECT_GE(lo / 4, hi - lo) TH_LOG("bucket %u: [%llu, %llu)", i, lo, hi);
		EXPECT_EQ(i, kvm_ft_hist_bucket(lo)) TH_LOG("%llu us", lo);
		EXPECT_EQ(i, kvm_ft_hist_bucket(hi - 1)) TH_LOG("%llu us", hi - 1);
	}
	EXPECT_EQ(1ULL << 24, kvm_ft_hist_lower(KVM_FT_HIST_BUCKETS - 1));
	for (us = 1ULL << 24; us; us <<= 1)	/* up to 2^63 */
		EXPECT_EQ(KVM_FT_HIST_BUCKETS - 1, kvm_ft_hist_bucket(us)) TH_LOG("%llu us", us);
	for (us = 0, b = 0; us < (1ULL << 25); us += 1 + us / 64) {
		i = kvm_ft_hist_bucket(us);
		ASSERT_LE(b, i) TH_LOG("%llu us", us);
		ASSERT_LE(kvm_ft_hist_lower(i), us);
		b = i;
	}
}

TEST_HARNESS_MAIN
