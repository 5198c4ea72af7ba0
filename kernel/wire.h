/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The wire codec: decode and check frames of the protocol in
 * uapi/linux/kvm_ft.h.  No kernel-only dependency: the same wire.c builds in
 * user space for unit tests and fuzzing (selftests/wire_test.c,
 * selftests/fuzz/).  Only __u8/__u32/__u64 from <linux/types.h> and a
 * kvm_ft_crc32c() (below) are assumed.
 */
#ifndef KVM_FT_WIRE_H
#define KVM_FT_WIRE_H

#include <linux/types.h>
#include <linux/kvm_ft.h>

#include "vcpu_state.h"

const char *kvm_ft_wire_strerror(int err);

/*
 * CRC-32C as the kernel's crc32c() computes it (chained from @crc, no
 * inversion), from whoever builds the codec: kernel/crc.c in the kernel,
 * selftests/lib/crc32c.c in user space.
 */
__u32 kvm_ft_crc32c(__u32 crc, const void *buf, unsigned long len);
/* kvm_ft_crc32c() over @len more zero bytes, in fewer steps than that. */
__u32 kvm_ft_crc32c_shift(__u32 crc, unsigned long len);

/* A decoded frame: views into the caller's header and payload buffers. */
struct kvm_ft_wire_msg {
	__u8 type;
	__u32 len;
	__u64 epoch;
	union {
		struct {
			__u64 mem_pages;
			__u32 nr_vcpus;
			__u32 flags;		/* KVM_FT_WIRE_HELLO_F_* */
			char name[KVM_FT_NAME_LEN];
			__u32 machine;
		} hello;
		struct {
			__u32 count;
			const __u8 *gfns;	/* count little-endian __u64 */
			const __u8 *data;	/* count pages; ZERO: NULL */
		} pages;
		struct {
			__u32 count;
			const __u8 *pages;	/* the first struct kvm_ft_wire_delta */
		} delta;
		struct {
			__u32 index, size;
			const __u8 *state;
		} vcpu;
		struct {
			__u32 index, size, len;
			__u64 base;
			const __u8 *runs;	/* len bytes */
		} vcpu_delta;
		struct {
			const __u8 *data;	/* len bytes */
		} device;
		struct {
			__u32 size, len;
			__u64 base;
			const __u8 *runs;	/* len bytes */
		} device_delta;
		struct {
			__u64 nr_pages;
			__u32 nr_vcpus, device_len;
		} end;
		struct {
			__u32 crc;
		} verify;
	};
};

/* What a receiver tracks to check the order and totals of frames. */
struct kvm_ft_wire_rx {
	__u64 mem_pages;	/* of the local VM, for HELLO's check */
	__u32 nr_vcpus;		/* of the local VM */
	__u32 flags;		/* the local VM's KVM_FT_WIRE_HELLO_F_* */
	__u32 machine;		/* the local VMM's digest of its devices */
	__u32 features;		/* KVM_FT_WIRE_FEAT_*: the handshake's common */
	/* Whether @gfn is guest memory the stream may write; nonzero: yes. */
	int (*gfn_valid)(void *ctx, __u64 gfn);
	void *ctx;
	int hello_seen;
	int in_epoch;
	int verify_seen;	/* in the open epoch */
	__u64 last_epoch;	/* last epoch completed; 0 before any */
	__u64 pages;		/* received in the open epoch */
	__u32 vcpus, device_len;
};

/*
 * Fill a header (crc zero).  A frame in the clear then gets its checksum
 * once the payload is in place; a sealed one keeps crc zero (its AEAD tag
 * covers header and payload: transfer.c).
 */
void kvm_ft_wire_put_hdr(void *hdr, __u8 type, __u64 epoch, __u32 len);
void kvm_ft_wire_put_crc(void *hdr, const void *payload);

/*
 * The payloads, encoded into @p; each returns the payload's length.
 * PAGES: its count and frame numbers, the @count pages' contents to be
 * put after them (at @p + 8 + 8 * count) by the caller.  ZERO: its count
 * and frame numbers, of pages all zero (no contents).  VCPU: its
 * header, the @size bytes of kvm_ft_wire_put_vcpu() after it.
 */
__u32 kvm_ft_wire_put_hello(void *p, __u64 mem_pages, __u32 nr_vcpus, __u32 flags,
			    const char *name, __u32 machine);
__u32 kvm_ft_wire_put_pages(void *p, __u32 count, const __u64 *gfns);
__u32 kvm_ft_wire_put_zero(void *p, __u32 count, const __u64 *gfns);
__u32 kvm_ft_wire_put_vcpu_hdr(void *p, __u32 index, __u32 size);

/*
 * DELTA.  Its payload: kvm_ft_wire_put_delta_hdr(), then per page the
 * runs by which @page differs from @base, put by kvm_ft_wire_delta_runs()
 * at the page's header + sizeof(struct kvm_ft_wire_delta) (room for
 * KVM_FT_WIRE_DELTA_MAX bytes: it returns their length, or more than that
 * when the page differs too much for a delta), and then that header
 * before them, by kvm_ft_wire_put_delta() (which returns the page's whole
 * length).  kvm_ft_wire_page_crc() gives @base and @crc.
 */
__u32 kvm_ft_wire_put_delta_hdr(void *p, __u32 count);
__u32 kvm_ft_wire_delta_runs(const void *base, const void *page, void *out);
__u32 kvm_ft_wire_put_delta(void *p, __u64 gfn, __u32 base, __u32 crc, __u32 len);
/*
 * Put @len bytes of runs into @to: runs a receiver has checked (decoded)
 * or a sender has just made (kvm_ft_wire_delta_runs(), ..._vcpu_runs()).
 */
void kvm_ft_wire_put_runs(void *to, const void *runs, __u32 len);
/*
 * The CRC-32C (as kvm_ft_wire_page_crc()) of the page @len bytes of runs
 * make of @base, whose CRC-32C is @crc, from the runs alone.
 */
__u32 kvm_ft_wire_runs_crc(__u32 crc, const void *base, const void *runs, __u32 len);
__u32 kvm_ft_wire_page_crc(const void *page);

/* A page of a decoded DELTA frame. */
struct kvm_ft_wire_delta_page {
	__u64 gfn;
	__u32 base, crc, len;
	const __u8 *runs;
};

/*
 * The page of decoded DELTA @m at @pos (0 for the first; then what the
 * last call returned) into @d; the next page's @pos.
 */
__u32 kvm_ft_wire_delta_get(const struct kvm_ft_wire_msg *m, __u32 pos,
			    struct kvm_ft_wire_delta_page *d);
/*
 * Apply @d to @page, the receiver's copy of it: E_DELTA if @page is not
 * the page @d was made against (the runs are then not applied) or the
 * result is not the page @d describes (@page is then garbage).
 */
int kvm_ft_wire_delta_apply(void *page, const struct kvm_ft_wire_delta_page *d);
/*
 * VCPU_DELTA.  kvm_ft_wire_vcpu_runs() puts at @out, after room for the
 * header, the runs that make @size bytes of state @base into @state (room
 * for KVM_FT_WIRE_VCPU_DELTA_MAX bytes: more than that returned means the
 * state goes whole); kvm_ft_wire_put_vcpu_delta() the header before
 * them, returning the payload's length.  kvm_ft_wire_vcpu_delta_apply()
 * applies decoded @m to @state, the receiver's @size bytes of epoch
 * @epoch: E_DELTA, unchanged, if that is not the delta's base.
 */
__u32 kvm_ft_wire_vcpu_runs(const void *base, const void *state, __u32 size, void *out);
__u32 kvm_ft_wire_put_vcpu_delta(void *p, __u32 index, __u32 size, __u64 base, __u32 len);
int kvm_ft_wire_vcpu_delta_apply(void *state, __u32 size, __u64 epoch,
				 const struct kvm_ft_wire_msg *m);
/*
 * DEVICE_DELTA, as VCPU_DELTA but for a blob of up to KVM_FT_WIRE_MAX_DEVICE
 * bytes (runs with __le32 offsets and lengths): kvm_ft_wire_device_runs()
 * puts at @out at most @max (and KVM_FT_WIRE_DEVICE_DELTA_MAX) bytes of
 * runs that make @size bytes @base into @blob, or returns more than that;
 * kvm_ft_wire_put_device_runs() applies such runs (the sender, to its
 * base); kvm_ft_wire_device_delta_apply() applies decoded @m to @blob, the
 * receiver's @size bytes of epoch @epoch: E_DELTA, unchanged, if that is
 * not the delta's base.
 */
__u32 kvm_ft_wire_device_runs(const void *base, const void *blob, __u32 size, void *out,
			      __u32 max);
void kvm_ft_wire_put_device_runs(void *to, const void *runs, __u32 len);
__u32 kvm_ft_wire_put_device_delta(void *p, __u32 size, __u64 base, __u32 len);
int kvm_ft_wire_device_delta_apply(void *blob, __u32 size, __u64 epoch,
				   const struct kvm_ft_wire_msg *m);
__u32 kvm_ft_wire_put_end(void *p, __u64 nr_pages, __u32 nr_vcpus, __u32 device_len);
__u32 kvm_ft_wire_put_verify(void *p, __u32 crc);

/* Check a header alone (before its payload is read, to bound the read). */
int kvm_ft_wire_decode_hdr(const void *hdr, struct kvm_ft_wire_msg *m);
/*
 * Check the payload's structure and fill @m; @sealed: the frame was opened
 * (authenticated) already, so its crc must be zero, else the checksum is
 * checked.
 */
int kvm_ft_wire_decode(const void *hdr, const void *payload, int sealed,
		       struct kvm_ft_wire_msg *m);
/*
 * A frame from a backup to its primary: ACK or HEARTBEAT, no payload.  The
 * header alone is the frame; any other type is E_ORDER.
 */
int kvm_ft_wire_decode_reply(const void *hdr, int sealed, struct kvm_ft_wire_msg *m);

/*
 * The handshake (INIT, REPLY, CONFIRM; Documentation/wire-protocol.rst):
 * the versions and features both sides speak, fresh nonces from both,
 * proof that each holds the pair's key, and per-connection keys derived
 * from the key and everything said.  Its hashes come from whoever links
 * the codec (kernel/seal.c; selftests/lib/seal.c in user space), each
 * over @n pieces; nonzero: they failed.
 */
struct kvm_ft_wire_buf {
	const void *p;
	__u32 len;
};

int kvm_ft_wire_sha256(const struct kvm_ft_wire_buf *v, int n, __u8 *out);
int kvm_ft_wire_hmac(const __u8 *key, __u32 key_len, const struct kvm_ft_wire_buf *v, int n,
		     __u8 *out);

#define KVM_FT_WIRE_HASH_LEN	32
#define KVM_FT_WIRE_HS_FRAME	(sizeof(struct kvm_ft_wire_hdr) + \
				 sizeof(struct kvm_ft_wire_reply))	/* the largest */

struct kvm_ft_wire_hs {
	/* The caller's, before the first step. */
	int keyed;				/* else insecure, on purpose */
	__u8 key[KVM_FT_KEY_LEN];
	__u8 nonce[KVM_FT_WIRE_NONCE_LEN];	/* fresh random bytes */
	char name[KVM_FT_NAME_LEN];		/* our VM's */
	__u32 features;				/* KVM_FT_WIRE_FEAT_* we speak */
	__u8 min_version, max_version;		/* we speak; 0, 0: ours */
	/* The outcome. */
	__u8 version;
	__u32 common;				/* the features both speak */
	char peer[KVM_FT_NAME_LEN];		/* the peer's VM */
	__u8 key_p2b[KVM_FT_KEY_LEN], key_b2p[KVM_FT_KEY_LEN];
	/* The transcript, and what each side proves with. */
	__u8 init[sizeof(struct kvm_ft_wire_init)];
	__u8 reply[sizeof(struct kvm_ft_wire_reply)];
	__u8 proof_p[KVM_FT_WIRE_PROOF_LEN], proof_b[KVM_FT_WIRE_PROOF_LEN];
};

/* Primary: the INIT frame into @frame (KVM_FT_WIRE_HS_FRAME); its length. */
__u32 kvm_ft_wire_hs_init(struct kvm_ft_wire_hs *hs, void *frame);
/*
 * Backup: take the INIT frame (its header checked by decode_hdr) and put
 * the REPLY frame into @frame, always (@*len): OK, or the refusal this
 * returns, which the primary is told.
 */
int kvm_ft_wire_hs_reply(struct kvm_ft_wire_hs *hs, const void *hdr, const void *payload,
			 void *frame, __u32 *len);
/* Backup: a REPLY that only refuses, for @status (a kind), into @frame; its length. */
__u32 kvm_ft_wire_hs_refusal(void *frame, int status);
/*
 * Primary: take the REPLY frame: the backup's refusal, a malformed reply,
 * or OK and the CONFIRM frame in @frame (@*len), which is to be sent
 * whether or not the backup's proof then checks out
 * (kvm_ft_wire_hs_proven()): the backup then counts a wrong key too.
 */
int kvm_ft_wire_hs_confirm(struct kvm_ft_wire_hs *hs, const void *hdr, const void *payload,
			   void *frame, __u32 *len);
/* Primary: the backup's proof in its REPLY is right: OK, or E_KEY. */
int kvm_ft_wire_hs_proven(const struct kvm_ft_wire_hs *hs);
/* Backup: take the CONFIRM frame: OK, or why not (E_KEY: the keys differ). */
int kvm_ft_wire_hs_done(struct kvm_ft_wire_hs *hs, const void *hdr, const void *payload);
/* Forget the key and everything derived from it. */
void kvm_ft_wire_hs_wipe(struct kvm_ft_wire_hs *hs);

/*
 * A VCPU frame's state: @st encoded field by field into @out (room for
 * KVM_FT_WIRE_VCPU_MAX bytes), its length; decoded from @len bytes into
 * @st, all of them: OK, or why not (LEN, RESERVED, VCPU).  Whether the
 * values make a state the engine would send is kvm_ft_vcpu_valid()'s.
 */
__u32 kvm_ft_wire_put_vcpu(void *out, const struct kvm_ft_arch_vcpu *st);
int kvm_ft_wire_get_vcpu(const void *in, __u32 len, struct kvm_ft_arch_vcpu *st);
/* Check @m against the receiver's state and VM, and advance the state. */
int kvm_ft_wire_rx(struct kvm_ft_wire_rx *rx, const struct kvm_ft_wire_msg *m);

__u64 kvm_ft_wire_gfn(const struct kvm_ft_wire_msg *m, __u32 i);
void kvm_ft_wire_put_le32(void *p, __u32 v);
void kvm_ft_wire_put_le64(void *p, __u64 v);

#endif /* KVM_FT_WIRE_H */
