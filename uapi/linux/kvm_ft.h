/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Cuju: fault tolerance for KVM virtual machines.
 *
 * The one header shared by the engine in kvm.ko, ftnl, the QEMU patch and
 * the selftests.  It holds only what is implemented; every name carries the
 * KVM_FT_ prefix.
 *
 * Global defaults (sysfs)
 * -----------------------
 * KVM_FT_SYSFS_DIR holds one file per default, each a decimal unsigned
 * integer.  A write is taken whole or refused with EINVAL, leaving the old
 * value: no number, trailing garbage, a sign, or a value outside [MIN, MAX].
 *
 *   epoch_us             length of an epoch in microseconds: how much guest
 *                        execution one checkpoint covers, and so the most
 *                        output commit delays a packet by, plus transfer time.
 *   inflight_max         epochs captured but not yet acknowledged, at most;
 *                        at the limit the next snapshot waits (a stall,
 *                        counted) while the VM runs on: the epoch grows.
 *   failover_timeout_ms  silence (no epoch, no heartbeat) after which a peer
 *                        is taken for dead.
 *   heartbeat_ms         how often a side that has sent nothing else sends
 *                        a heartbeat (also while it receives); always
 *                        below failover_timeout_ms (a write that would break
 *                        this is refused with EINVAL).
 *   verify_memory        1: (a debugging aid; costly) the primary takes a
 *                        checksum of all guest memory at each epoch's end,
 *                        vCPUs held, and the backup checks its memory
 *                        against it after applying the epoch; a difference
 *                        ends the link (error kind verify).  0: off.
 *   auto_failover        1: a backup whose link to its primary breaks
 *                        (silence, truncation, a socket error; not a clean
 *                        stop) takes over by itself from its checkpoint;
 *                        0: it only says so, and waits for ftnl failover
 *                        (e.g. when something outside decides who runs).
 *
 * Documentation/ABI/testing/sysfs-kernel-kvm_ft describes each file.
 *
 * VM ioctls (on a KVM VM file descriptor, by the VMM)
 * ---------------------------------------------------
 * KVM's own ioctls all have the type byte 0xAE (KVMIO).  Ours have the type
 * byte KVM_FT_IO (0xCF): no ioctl of KVM, present or future, can share a
 * number with one of ours.  Unknown numbers of type 0xCF fail with ENOTTY.
 *
 *   KVM_FT_REGISTER    register the VM under a name, as primary or backup.
 *                      EINVAL: bad name, role, flags or reserved field;
 *                      EEXIST: another VM has the name; EBUSY: this VM is
 *                      registered already.
 *   KVM_FT_UNREGISTER  undo it: a primary ends its pair cleanly (the
 *                      backup does not take over).  ENOENT: not registered.
 *                      A VM destroyed while registered is unregistered
 *                      too, but as a crash: a paired primary's link is
 *                      reset, and its backup takes over.
 *   KVM_FT_CHECKSUM    CRC-32C of guest memory [gpa, gpa + size), for
 *                      tests that compare a primary and its backup at a
 *                      commit point.  Page-aligned, non-empty, within user
 *                      memslots: EINVAL otherwise (EFAULT: unreadable).
 *                      Any VM, registered or not.
 *   KVM_FT_DEVICE_SETUP  while IDLE.  A primary registered without
 *                      KVM_FT_F_NO_DEVICE_STATE gives an eventfd, a
 *                      timeout (1..KVM_FT_DEVICE_TIMEOUT_MS_MAX) and the
 *                      largest blob (1..KVM_FT_WIRE_MAX_DEVICE); it cannot
 *                      be paired before.  Every other VM may give an
 *                      eventfd (or -1) and must give 0 for the other two.
 *                      Any VM gives in machine a digest of its VMM's
 *                      devices (0 for none): HELLO carries the primary's,
 *                      and a backup refuses one that is not its own.
 *                      EINVAL: otherwise; EBUSY: not IDLE; EBADF: no
 *                      eventfd.  A second call replaces the first.
 *   KVM_FT_DEVICE_PUT  primary: at each epoch, its vCPUs held, the kernel
 *                      adds 1 to the eventfd and waits timeout_ms at most
 *                      for the device state.  The VMM reads the eventfd,
 *                      adds what it read to a running total (the request
 *                      number; the first request is 1), captures its
 *                      devices and puts the blob with seq = that total.
 *                      The PUT returns once the vCPUs run again.
 *                      ESTALE: no such request waits (it timed out, or a
 *                      newer one came): capture again at the next signal;
 *                      EMSGSIZE: len > max_len; EINVAL: len 0, reserved,
 *                      not a primary with device state set up.  An epoch
 *                      whose blob timed out is sent without one (counted,
 *                      VM_DEVICE_TIMEOUTS) and is no checkpoint: its
 *                      pages are applied, so the backup cannot fail over
 *                      (EAGAIN) until the next complete epoch.
 *   KVM_FT_MARK_DIRTY  the VMM wrote guest memory [gpa, gpa + size)
 *                      itself (a device's DMA): KVM logs only the guest's
 *                      writes, so without this the backup never gets it.
 *                      Mark each write right after making it.  Only a VM
 *                      with device state can write consistently: between
 *                      reading the eventfd and the return of its PUT (which
 *                      returns once the vCPUs run again), it writes only
 *                      what its captured state reflects, all marked before
 *                      the PUT.  EINVAL: not all in dirty-logged memslots.
 *   KVM_FT_OUTPUT_DEV  a network device (the VM's tap, by ifindex in the
 *                      caller's namespace) whose received packets are the
 *                      VM's output: while the VM is a protected primary
 *                      they are held until the epoch that sent them is
 *                      committed (VM_OUT_*).  Up to 8 per VM, for as long
 *                      as the VM is registered or the device exists.
 *                      ENODEV: no such device; EEXIST: given already;
 *                      ENOSPC: 8 already; EINVAL: reserved.
 *   KVM_FT_DEVICE_GET  backup: once it took over (the eventfd is signalled
 *                      then, if set up), the device state of the
 *                      checkpoint it resumed from, into addr (len bytes of
 *                      room); seq: that checkpoint's epoch.  len 0 for a
 *                      VM without device state.  ENODATA: it has not taken
 *                      over; E2BIG: len too small (len says how much).
 *
 * Generic netlink family KVM_FT_GENL_NAME (administrators, through ftnl)
 * ----------------------------------------------------------------------
 * Every command needs CAP_NET_ADMIN, in the initial network namespace.
 *
 *   KVM_FT_CMD_GET_VM  doit: [VM_NAME] -> one VM; dump: every VM (a
 *                      dump that a VM's registration or unregistration
 *                      interrupted ends with NLM_F_DUMP_INTR: ask again).
 *                      Reply: VM_NAME, VM_ROLE, VM_STATE, VM_EPOCH_US,
 *                      VM_NR_VCPUS, VM_MEM_BYTES, VM_VMM_PID,
 *                      VM_OWNER_UID, ADDR (or ADDR6) and PORT once it
 *                      has paired or listened (where), the keying (see
 *                      below), VM_STATS, VM_ERROR, VM_PAUSE_HIST,
 *                      VM_OUT_HOLD_HIST, VM_OUT_DEV, and the ages
 *                      VM_COMMIT_AGE_MS and VM_LINK_AGE_MS when known.
 *                      ENOENT: no VM of that name.
 *   KVM_FT_CMD_SET_VM  [VM_NAME, VM_EPOCH_US, KEY or INSECURE]: this VM's
 *                      epoch length (KVM_FT_EPOCH_US_MIN..MAX; EINVAL
 *                      outside); the key of its next links (LISTEN, PAIR
 *                      and START copy it when they start), or INSECURE:
 *                      none, on purpose.  EINVAL: both KEY and INSECURE.
 *   KVM_FT_CMD_LISTEN  [VM_NAME, ADDR or ADDR6, PORT, KEY or INSECURE]: a
 *                      backup VM waits for its primary on this IPv4 or
 *                      IPv6 address (not link-local) and TCP port.  EINVAL: not a backup; EBUSY: not idle;
 *                      ENOKEY: no key given now or before, and not told
 *                      INSECURE; ENOPKG: the kernel lacks the AEAD;
 *                      EADDRINUSE and other socket errors as they come.
 *                      KEY and INSECURE, as for SET_VM, also on PAIR.
 *   KVM_FT_CMD_PAIR    [VM_NAME, ADDR or ADDR6, PORT]: a primary VM connects to its
 *                      backup there (retrying until it answers), says
 *                      HELLO, copies all of guest memory (the sync, epoch
 *                      1) and then sends an epoch every VM_EPOCH_US.
 *                      EINVAL: not a primary, or a VM the engine cannot
 *                      protect (the extended ack says why: memslots not
 *                      logging dirty pages, the dirty ring, no vCPU, device
 *                      state without KVM_FT_DEVICE_SETUP); EBUSY: not idle or
 *                      unprotected.
 *   KVM_FT_CMD_STOP    [VM_NAME]: stop listening, receiving or sending:
 *                      idle again.
 *   KVM_FT_CMD_START   [VM_NAME]: pair or listen again, with the address
 *                      and port of the VM's last PAIR or LISTEN (after a
 *                      STOP, or a primary's lost backup).  EDESTADDRREQ:
 *                      it never paired or listened; else as PAIR/LISTEN.
 *   KVM_FT_CMD_FAILOVER [VM_NAME]: a backup VM that holds a consistent
 *                      checkpoint takes over now: its vCPUs get the
 *                      checkpoint's state and the VM is ACTIVE, for its
 *                      VMM to run.  EINVAL: not a listening backup;
 *                      EAGAIN: no consistent checkpoint yet; EALREADY:
 *                      it took over already; EBUSY: its VMM holds a vCPU
 *                      (nothing changed: try again).  A backup also takes
 *                      over by itself when it loses its primary after one.
 *
 * Either side takes its peer for lost when no frame (heartbeats count) has
 * come from it for failover_timeout_ms.  A primary that loses its backup
 * goes on running, unprotected, and says so once in the kernel log; it can
 * be paired again.
 *
 * Events go to the multicast group KVM_FT_GENL_MCGRP_EVENTS (listening to
 * it needs CAP_NET_ADMIN) as KVM_FT_CMD_EVENT messages: VM_NAME, EVENT and,
 * for PEER_LOST, EVENT_REASON (enum kvm_ft_wire_err; OK: closed cleanly);
 * for FAILOVER_BEGIN (the backup holds its vCPUs and loads them) and
 * FAILOVER (done: the VM is ACTIVE), EVENT_EPOCH (the checkpoint the VM
 * resumes from; a takeover that fails in between leaves the VM IDLE and
 * says why in the kernel log); for
 * COMMITTED, EVENT_EPOCH (the newest epoch the backup holds; sent at most
 * ten times a second, so it is a progress report, not one per epoch).
 *
 * GET_VM also reports the keying, never the key: KEY_FPR (the first 4
 * bytes of the key's SHA-256) if a key is set, INSECURE if told so, and
 * PEER_NAME, the peer VM the last handshake named.
 *
 * GET_VM also reports the link.  VM_STATS is a nest of enum kvm_ft_stat,
 * one u64 per row of KVM_FT_STATS() below (name, unit, and what it
 * counts).  VM_ERROR, once per kind of refusal (multi-attr), is a nest of
 * enum kvm_ft_error_attr: KIND (enum kvm_ft_wire_err) and COUNT (u64).
 * VM_PAUSE_HIST (primary: how long the vCPUs were held per epoch) and
 * VM_OUT_HOLD_HIST (how long each packet of output was held) are nests of
 * enum kvm_ft_hist_attr: KVM_FT_HIST_BUCKETS BUCKETs (multi-attr, u64
 * each, in order), bucket i counting [kvm_ft_hist_lower(i),
 * kvm_ft_hist_lower(i + 1)) microseconds (below).  VM_OUT_DEV (multi-attr, u32): the ifindex of each tap the
 * output is held on.  VM_COMMIT_AGE_MS: milliseconds since the last epoch
 * was committed (a primary: acknowledged; a backup: applied), absent
 * before the first; what a failover now would lose, at most.
 * VM_LINK_AGE_MS: milliseconds since the link to the peer came up,
 * absent while it is down.
 *
 * Wire protocol (primary kernel <-> backup kernel, over TCP)
 * ----------------------------------------------------------
 * Every frame is a struct kvm_ft_wire_hdr followed by hdr.len bytes of
 * payload.  All integers are little-endian.  A connection begins with a
 * handshake in the clear (INIT, REPLY, CONFIRM), each frame's hdr.crc the
 * CRC-32C of the header (with crc = 0) and the payload: the versions and
 * features both sides speak, and proof that both hold the pair's key,
 * from which this connection's keys are derived.  Every later frame is
 * sealed (ChaCha20-Poly1305; hdr.crc 0, a KVM_FT_WIRE_TAG_LEN tag after
 * the payload), or, on a pair set insecure, checksummed as the
 * handshake's.  A frame that fails any check ends the connection;
 * nothing of an epoch is applied before its EPOCH_END has arrived and
 * checked.  Documentation/wire-protocol.rst has the whole protocol; the
 * payloads are:
 *
 *   INIT         struct kvm_ft_wire_init: the primary's versions, features,
 *                nonce, VM name
 *   REPLY        struct kvm_ft_wire_reply: the backup's answer (or refusal),
 *                nonce, VM name, proof of the key
 *   CONFIRM      struct kvm_ft_wire_confirm: the primary's proof of the key
 *   HELLO        struct kvm_ft_wire_hello: the VM's shape, checked by the backup
 *   EPOCH_BEGIN  empty; hdr.epoch opens an epoch (one more than the last)
 *   PAGES        struct kvm_ft_wire_pages, count x __le64 guest frame numbers,
 *                then count x KVM_FT_WIRE_PAGE_SIZE bytes of page data
 *   ZERO         struct kvm_ft_wire_pages, count x __le64 guest frame numbers
 *                of pages all zero (no data), only if both speak
 *                KVM_FT_WIRE_FEAT_ZERO; they count as pages in EPOCH_END
 *   DELTA        struct kvm_ft_wire_pages, then count x (struct
 *                kvm_ft_wire_delta, then its len bytes of runs: __le16
 *                offset, __le16 n, n bytes): pages as their differences
 *                from the backup's copy, checked against it before and
 *                after, only if both speak KVM_FT_WIRE_FEAT_DELTA and not
 *                in the sync (epoch 1); they count as pages in EPOCH_END
 *   VCPU         struct kvm_ft_wire_vcpu, then size bytes of vCPU state
 *   VCPU_DELTA   struct kvm_ft_wire_vcpu_delta, then runs (as DELTA's) that
 *                make a vCPU's state of its last VCPU or VCPU_DELTA frame
 *                (of epoch base, size bytes too) into this epoch's, only if
 *                both speak KVM_FT_WIRE_FEAT_VCPU_DELTA; it counts as a
 *                VCPU frame in EPOCH_END
 *   DEVICE       the VMM's device-state blob, opaque to the kernel
 *   DEVICE_DELTA struct kvm_ft_wire_device_delta, then runs (__le32 offset,
 *                __le32 n, n bytes) that make the blob of the last DEVICE
 *                or DEVICE_DELTA frame (of epoch base, size bytes too)
 *                into this epoch's, only if both speak
 *                KVM_FT_WIRE_FEAT_DEVICE_DELTA; it counts as a DEVICE
 *                frame of size bytes in EPOCH_END
 *   EPOCH_END    struct kvm_ft_wire_epoch_end: totals to check the epoch by
 *   ACK          empty, backup to primary: epoch hdr.epoch is held
 *   VERIFY       struct kvm_ft_wire_verify, only with verify_memory on: the
 *                backup checks its memory against it after applying
 *   HEARTBEAT    empty, either way: the sender is alive
 */
#ifndef _UAPI_LINUX_KVM_FT_H
#define _UAPI_LINUX_KVM_FT_H

#define KVM_FT_SYSFS_DIR		"/sys/kernel/kvm_ft"

#define KVM_FT_EPOCH_US_DEFAULT		10000U		/* 10 ms */
#define KVM_FT_EPOCH_US_MIN		1000U		/* 1 ms */
#define KVM_FT_EPOCH_US_MAX		2000000U	/* 2 s */
/*
 * Epochs that follow output (0: off): one ends early, once at least
 * epoch_min_us old and nine times the last pause, when the guest's output
 * waits for it and no epoch is
 * in flight; and stretches, up to epoch_max_us, when nothing waits and the
 * last one carried at most KVM_FT_EPOCH_STRETCH_PAGES pages.
 */
#define KVM_FT_EPOCH_STRETCH_PAGES	64U

#define KVM_FT_INFLIGHT_DEFAULT		2U
#define KVM_FT_INFLIGHT_MIN		1U
#define KVM_FT_INFLIGHT_MAX		16U

#define KVM_FT_FAILOVER_MS_DEFAULT	1000U
#define KVM_FT_FAILOVER_MS_MIN		50U
#define KVM_FT_FAILOVER_MS_MAX		600000U		/* 10 min */

#define KVM_FT_HEARTBEAT_MS_DEFAULT	100U
#define KVM_FT_HEARTBEAT_MS_MIN		10U
#define KVM_FT_HEARTBEAT_MS_MAX		60000U

#define KVM_FT_OUTPUT_KB_DEFAULT	4096U		/* held output, per VM */
#define KVM_FT_OUTPUT_KB_MIN		64U
#define KVM_FT_OUTPUT_KB_MAX		1048576U	/* 1 GiB */

/* The primary's copies of pages last sent, per VM, to send deltas against. */
#define KVM_FT_DELTA_MB_DEFAULT	64U
#define KVM_FT_DELTA_MB_MIN		0U		/* no deltas */
#define KVM_FT_DELTA_MB_MAX		65536U		/* 64 GiB */

#include <linux/types.h>
#include <linux/ioctl.h>

#define KVM_FT_NAME_LEN			32	/* with the NUL; [A-Za-z0-9._-] */

/*
 * The histograms' buckets (VM_PAUSE_HIST, VM_OUT_HOLD_HIST,
 * VM_EPOCH_HIST), log-linear:
 * one a microsecond below 4 us, then four to each power of two, each a
 * quarter of it wide, so that a quantile read as a bucket's upper end is
 * at most 25% (and one microsecond) above the true one.  Bucket i counts
 * [kvm_ft_hist_lower(i), kvm_ft_hist_lower(i + 1)) us; the last, from
 * 2^24 us (16.8 s) up.
 */
#define KVM_FT_HIST_BUCKETS		93

static inline __u32 kvm_ft_hist_bucket(__u64 us)
{
	int k;

	if (us < 4)
		return us;
	k = 63 - __builtin_clzll(us);			/* 2^k <= us */
	if (k >= 24)
		return KVM_FT_HIST_BUCKETS - 1;
	return 4 * (k - 1) + ((us >> (k - 2)) & 3);
}

static inline __u64 kvm_ft_hist_lower(__u32 i)
{
	if (i < 4)
		return i;
	return (__u64)(4 + i % 4) << (i / 4 - 1);
}

#define KVM_FT_IO			0xCF

enum kvm_ft_role {
	KVM_FT_ROLE_PRIMARY	= 1,
	KVM_FT_ROLE_BACKUP	= 2,
};

/*
 * The VMM hands no device state to the kernel per epoch (tests, toys).
 * Without it, the VMM hands its device state in at every epoch (see
 * KVM_FT_DEVICE_SETUP); primary and backup VMs must be registered alike.
 */
#define KVM_FT_F_NO_DEVICE_STATE	(1U << 0)
#define KVM_FT_F_ALL			KVM_FT_F_NO_DEVICE_STATE

struct kvm_ft_register {
	char name[KVM_FT_NAME_LEN];
	__u32 role;			/* enum kvm_ft_role */
	__u32 flags;			/* KVM_FT_F_* */
	__u64 reserved[4];		/* 0 */
};

struct kvm_ft_checksum {
	__u64 gpa;			/* in */
	__u64 size;			/* in */
	__u32 crc;			/* out: CRC-32C, seed ~0, final ~ */
	__u32 reserved;			/* 0 */
};

/* KVM_FT_DEVICE_SETUP: how the kernel and the VMM meet over device state. */
struct kvm_ft_device_setup {
	__s32 eventfd;			/* signalled per request; -1: none */
	__u32 timeout_ms;		/* primary: the longest the vCPUs wait */
	__u32 max_len;			/* primary: the largest blob, bytes */
	__u32 machine;			/* the VMM's digest of its devices: the
					 * same on both VMs of a pair (HELLO) */
};

#define KVM_FT_DEVICE_TIMEOUT_MS_MAX	10000U

/* KVM_FT_MARK_DIRTY: guest memory the VMM wrote itself. */
struct kvm_ft_range {
	__u64 gpa;
	__u64 size;			/* bytes, > 0; whole pages are marked */
};

/* KVM_FT_OUTPUT_DEV: a tap whose received packets are the VM's output. */
struct kvm_ft_output_dev {
	__s32 ifindex;			/* in the caller's network namespace */
	__u32 reserved;			/* 0 */
};

/* KVM_FT_DEVICE_PUT and KVM_FT_DEVICE_GET: one device-state blob. */
struct kvm_ft_device_blob {
	__u64 addr;			/* the VMM's buffer */
	__u32 len;			/* PUT: blob bytes; GET: in room, out size */
	__u32 reserved;			/* 0 */
	__u64 seq;			/* PUT: the request answered; GET: out,
					 * the epoch of the checkpoint */
};

#define KVM_FT_REGISTER		_IOW(KVM_FT_IO, 0x00, struct kvm_ft_register)
#define KVM_FT_UNREGISTER	_IO(KVM_FT_IO, 0x01)
#define KVM_FT_CHECKSUM		_IOWR(KVM_FT_IO, 0x02, struct kvm_ft_checksum)
#define KVM_FT_DEVICE_SETUP	_IOW(KVM_FT_IO, 0x03, struct kvm_ft_device_setup)
#define KVM_FT_DEVICE_PUT	_IOW(KVM_FT_IO, 0x04, struct kvm_ft_device_blob)
#define KVM_FT_DEVICE_GET	_IOWR(KVM_FT_IO, 0x05, struct kvm_ft_device_blob)
#define KVM_FT_MARK_DIRTY	_IOW(KVM_FT_IO, 0x06, struct kvm_ft_range)
#define KVM_FT_OUTPUT_DEV	_IOW(KVM_FT_IO, 0x07, struct kvm_ft_output_dev)

enum kvm_ft_state {
	KVM_FT_STATE_IDLE	= 1,	/* registered, not paired */
	KVM_FT_STATE_LISTENING	= 2,	/* backup: waiting for the primary */
	KVM_FT_STATE_RECEIVING	= 3,	/* backup: connected, taking epochs */
	KVM_FT_STATE_CONNECTING	= 4,	/* primary: trying to reach its backup */
	KVM_FT_STATE_CONNECTED	= 5,	/* primary: linked to its backup */
	KVM_FT_STATE_UNPROTECTED = 6,	/* primary: lost its backup, running on */
	KVM_FT_STATE_ACTIVE	= 7,	/* backup: took over; its VMM runs it */
};

#define KVM_FT_GENL_NAME		"kvm_ft"
#define KVM_FT_GENL_VERSION		3
#define KVM_FT_GENL_MCGRP_EVENTS	"events"

enum kvm_ft_event {
	KVM_FT_EV_LINKED	= 1,	/* a connection to the peer is up */
	KVM_FT_EV_PEER_LOST	= 2,	/* it is down, for EVENT_REASON */
	KVM_FT_EV_SYNCED	= 3,	/* primary: all memory sent once */
	KVM_FT_EV_FAILOVER	= 4,	/* backup: took over at EVENT_EPOCH */
	KVM_FT_EV_COMMITTED	= 5,	/* primary: EVENT_EPOCH is held; at most 10/s */
	KVM_FT_EV_FAILOVER_BEGIN = 6,	/* backup: taking over from EVENT_EPOCH */
};

enum kvm_ft_cmd {
	KVM_FT_CMD_UNSPEC,
	KVM_FT_CMD_GET_VM,
	KVM_FT_CMD_SET_VM,
	KVM_FT_CMD_LISTEN,
	KVM_FT_CMD_STOP,
	KVM_FT_CMD_PAIR,
	KVM_FT_CMD_EVENT,		/* kernel to listeners only */
	KVM_FT_CMD_FAILOVER,
	KVM_FT_CMD_START,
	__KVM_FT_CMD_MAX
};
#define KVM_FT_CMD_MAX (__KVM_FT_CMD_MAX - 1)

/*
 * Attributes are only added at the end of each set: their numbers are the
 * ABI of a family version (version 2 renumbered version 1's: ftnl refuses
 * a kernel of another version).  Each command takes only its own (the
 * kernel refuses others).
 */
enum kvm_ft_attr {
	KVM_FT_A_UNSPEC,
	KVM_FT_A_VM_NAME,		/* string, < KVM_FT_NAME_LEN */
	KVM_FT_A_VM_ROLE,		/* u32, enum kvm_ft_role */
	KVM_FT_A_VM_STATE,		/* u32, enum kvm_ft_state */
	KVM_FT_A_VM_EPOCH_US,		/* u32 */
	KVM_FT_A_VM_NR_VCPUS,		/* u32 */
	KVM_FT_A_VM_MEM_BYTES,		/* u64, guest memory in user memslots */
	KVM_FT_A_VM_VMM_PID,		/* u32, the process that registered it */
	KVM_FT_A_PAD,
	KVM_FT_A_ADDR,			/* be32, IPv4 */
	KVM_FT_A_PORT,			/* u16, host order */
	KVM_FT_A_VM_OWNER_UID,		/* u32: GET_VM, the uid that registered
					 * the VM; LISTEN/PAIR, the caller's
					 * confirmation that it links another
					 * user's VM */
	KVM_FT_A_KEY,			/* binary, KVM_FT_KEY_LEN: LISTEN, PAIR,
					 * SET_VM; never reported back */
	KVM_FT_A_INSECURE,		/* flag: LISTEN, PAIR, SET_VM: no key, no
					 * authentication, no encryption;
					 * GET_VM: the VM is so set */
	KVM_FT_A_KEY_FPR,		/* u32, GET_VM: the key's fingerprint
					 * (the first 4 bytes of its SHA-256) */
	KVM_FT_A_PEER_NAME,		/* string, GET_VM: the peer VM's name
					 * (from the last handshake) */
	KVM_FT_A_ADDR6,			/* binary, struct in6_addr: an IPv6
					 * address, instead of ADDR */
	KVM_FT_A_EVENT,			/* u32, enum kvm_ft_event */
	KVM_FT_A_EVENT_REASON,		/* u32, enum kvm_ft_wire_err */
	KVM_FT_A_EVENT_EPOCH,		/* u64 */
	KVM_FT_A_VM_STATS,		/* nest: enum kvm_ft_stat */
	KVM_FT_A_VM_ERROR,		/* nest, multi-attr: enum kvm_ft_error_attr */
	KVM_FT_A_VM_PAUSE_HIST,		/* nest: enum kvm_ft_hist_attr */
	KVM_FT_A_VM_OUT_HOLD_HIST,	/* nest: enum kvm_ft_hist_attr */
	KVM_FT_A_VM_OUT_DEV,		/* u32, multi-attr: ifindex held on */
	KVM_FT_A_VM_COMMIT_AGE_MS,	/* u64 */
	KVM_FT_A_VM_LINK_AGE_MS,	/* u64 */
	KVM_FT_A_VM_EPOCH_HIST,		/* nest: enum kvm_ft_hist_attr */
	__KVM_FT_A_MAX
};
#define KVM_FT_A_MAX (__KVM_FT_A_MAX - 1)

/*
 * The engine's counters, one row each: the one table, KVM_FT_STATS(X),
 * written from Documentation/netlink/specs/kvm_ft.yaml (its "stats" set)
 * into kvm_ft_stats.h.  The kernel's struct kvm_ft_stats, the attributes
 * of VM_STATS (enum kvm_ft_stat, in this order), ftnl's JSON and
 * Prometheus names and `ftnl help counters`, and the family's documentation
 * (Documentation/netlink/kvm_ft.rst) all come from it: a new counter is
 * one entry at the end of the spec's set, then `make spec`.
 *
 * X(NAME, name, unit, kind, side, what): kind is COUNTER (only grows while
 * the VM is registered) or GAUGE (a level); side is the role that counts
 * it (PRIMARY, BACKUP or BOTH).
 */
#include <linux/kvm_ft_stats.h>

enum kvm_ft_stat {
	KVM_FT_STAT_UNSPEC,
	KVM_FT_STAT_PAD,
#define KVM_FT_STAT_ENUM(NAME, name, unit, kind, side, what) KVM_FT_STAT_##NAME,
	KVM_FT_STATS(KVM_FT_STAT_ENUM)
#undef KVM_FT_STAT_ENUM
	__KVM_FT_STAT_MAX
};
#define KVM_FT_STAT_MAX (__KVM_FT_STAT_MAX - 1)

enum kvm_ft_error_attr {
	KVM_FT_ERROR_A_UNSPEC,
	KVM_FT_ERROR_A_PAD,
	KVM_FT_ERROR_A_KIND,		/* u32, enum kvm_ft_wire_err */
	KVM_FT_ERROR_A_COUNT,		/* u64, refusals of that kind */
	__KVM_FT_ERROR_A_MAX
};
#define KVM_FT_ERROR_A_MAX (__KVM_FT_ERROR_A_MAX - 1)

enum kvm_ft_hist_attr {
	KVM_FT_HIST_A_UNSPEC,
	KVM_FT_HIST_A_PAD,
	KVM_FT_HIST_A_BUCKET,		/* u64, multi-attr, in bucket order */
	__KVM_FT_HIST_A_MAX
};
#define KVM_FT_HIST_A_MAX (__KVM_FT_HIST_A_MAX - 1)

#define KVM_FT_WIRE_MAGIC		0x554a5543U	/* "CUJU" on the wire */
#define KVM_FT_WIRE_VERSION		2		/* the newest we speak */
#define KVM_FT_WIRE_VERSION_MIN		2		/* the oldest */
#define KVM_FT_KEY_LEN			32		/* a pair's shared secret */
#define KVM_FT_WIRE_NONCE_LEN		32		/* per side, per handshake */
#define KVM_FT_WIRE_PROOF_LEN		32		/* HMAC-SHA256 */
#define KVM_FT_WIRE_TAG_LEN		16		/* Poly1305 */
#define KVM_FT_WIRE_PAGE_SIZE		4096U
#define KVM_FT_WIRE_MAX_PAGES		64U		/* per PAGES frame */
#define KVM_FT_WIRE_MAX_VCPU_STATE	(64U << 10)
#define KVM_FT_WIRE_VCPU_MAX		10560U		/* what v2's encoding of a
							 * vCPU's state takes, at most */
#define KVM_FT_WIRE_MAX_DEVICE		(16U << 20)
#define KVM_FT_WIRE_DELTA_MAX		2048U		/* bytes of runs per page:
							 * a larger delta goes whole */
#define KVM_FT_WIRE_VCPU_DELTA_MAX	4096U		/* bytes of runs per vCPU
							 * state: more goes whole */
#define KVM_FT_WIRE_DEVICE_DELTA_MAX	(64U << 10)	/* bytes of runs per device
							 * blob: more goes whole */

/* Why a receiver refused a stream; each kind is counted (VM_ERROR). */
enum kvm_ft_wire_err {
	KVM_FT_WIRE_OK,
	KVM_FT_WIRE_E_MAGIC,	/* not a Cuju frame */
	KVM_FT_WIRE_E_VERSION,	/* another protocol version */
	KVM_FT_WIRE_E_TYPE,	/* unknown frame type */
	KVM_FT_WIRE_E_RESERVED,	/* a reserved field is not zero */
	KVM_FT_WIRE_E_LEN,	/* length wrong for the frame type */
	KVM_FT_WIRE_E_CRC,	/* checksum mismatch */
	KVM_FT_WIRE_E_SHAPE,	/* HELLO does not match the local VM */
	KVM_FT_WIRE_E_ORDER,	/* frame not allowed in this state */
	KVM_FT_WIRE_E_EPOCH,	/* epoch number out of sequence */
	KVM_FT_WIRE_E_GFN,	/* guest frame outside the VM's memslots */
	KVM_FT_WIRE_E_VCPU,	/* vCPU index out of range */
	KVM_FT_WIRE_E_TOTALS,	/* EPOCH_END disagrees with what arrived */
	KVM_FT_WIRE_E_TRUNCATED,/* the connection ended inside a frame or epoch */
	KVM_FT_WIRE_E_IO,	/* a socket error */
	KVM_FT_WIRE_E_SILENCE,	/* nothing for failover_timeout_ms */
	KVM_FT_WIRE_E_SNAPSHOT,	/* the primary could not take an epoch */
	KVM_FT_WIRE_E_NOMEM,	/* the backup could not stage the epoch */
	KVM_FT_WIRE_E_VERIFY,	/* memory differs from the primary's (VERIFY) */
	KVM_FT_WIRE_E_LAYOUT,	/* the primary's memslots changed while paired */
	KVM_FT_WIRE_E_MACHINE,	/* HELLO: the VMMs built different machines */
	KVM_FT_WIRE_E_AUTH,	/* a sealed frame failed authentication */
	KVM_FT_WIRE_E_KEY,	/* the peer's proof of the key is wrong */
	KVM_FT_WIRE_E_INSECURE,	/* one side has a key, the other none */
	KVM_FT_WIRE_E_BUSY,	/* the backup is linked to another primary */
	KVM_FT_WIRE_E_HANDSHAKE,/* no handshake within its time bound */
	KVM_FT_WIRE_E_DELTA,	/* a delta's base is not the backup's copy */
	KVM_FT_WIRE_E_MAX
};

enum kvm_ft_wire_type {
	KVM_FT_WIRE_HELLO	= 0x01,
	KVM_FT_WIRE_EPOCH_BEGIN	= 0x02,
	KVM_FT_WIRE_PAGES	= 0x03,
	KVM_FT_WIRE_VCPU	= 0x04,
	KVM_FT_WIRE_DEVICE	= 0x05,
	KVM_FT_WIRE_EPOCH_END	= 0x06,
	KVM_FT_WIRE_ACK		= 0x07,
	KVM_FT_WIRE_HEARTBEAT	= 0x08,
	KVM_FT_WIRE_VERIFY	= 0x09,
	KVM_FT_WIRE_INIT	= 0x0a,	/* the handshake, in the clear: */
	KVM_FT_WIRE_REPLY	= 0x0b,
	KVM_FT_WIRE_CONFIRM	= 0x0c,
	KVM_FT_WIRE_ZERO	= 0x0d,	/* pages all zero: their numbers only */
	KVM_FT_WIRE_DELTA	= 0x0e,	/* pages as differences from the backup's */
	KVM_FT_WIRE_VCPU_DELTA	= 0x0f,	/* a vCPU's state as its differences */
	KVM_FT_WIRE_DEVICE_DELTA = 0x10, /* device state as its differences */
};

struct kvm_ft_wire_hdr {
	__le32 magic;
	__u8 version;
	__u8 type;
	__le16 reserved;	/* 0 */
	__le32 len;		/* payload bytes after this header */
	__le32 crc;		/* sealed frames: 0 (a tag follows the payload) */
	__le64 epoch;
} __attribute__((packed));

/* The features a side speaks (INIT, REPLY): the pair uses those both do. */
#define KVM_FT_WIRE_FEAT_VERIFY		(1U << 0)	/* VERIFY frames */
#define KVM_FT_WIRE_FEAT_ZERO		(1U << 1)	/* ZERO frames */
#define KVM_FT_WIRE_FEAT_DELTA		(1U << 2)	/* DELTA frames */
#define KVM_FT_WIRE_FEAT_VCPU_DELTA	(1U << 3)	/* VCPU_DELTA frames */
#define KVM_FT_WIRE_FEAT_DEVICE_DELTA	(1U << 4)	/* DEVICE_DELTA frames */
#define KVM_FT_WIRE_FEAT_ALL		(KVM_FT_WIRE_FEAT_VERIFY | KVM_FT_WIRE_FEAT_ZERO | \
					 KVM_FT_WIRE_FEAT_DELTA | KVM_FT_WIRE_FEAT_VCPU_DELTA | \
					 KVM_FT_WIRE_FEAT_DEVICE_DELTA)

/* INIT and REPLY's flags. */
#define KVM_FT_WIRE_HS_F_KEYED		(1U << 0)	/* this side has a key */
#define KVM_FT_WIRE_HS_F_ALL		KVM_FT_WIRE_HS_F_KEYED

/* Primary to backup, first. */
struct kvm_ft_wire_init {
	__u8 min_version, max_version;	/* the versions the primary speaks */
	__le16 reserved;	/* 0 */
	__le32 features;	/* KVM_FT_WIRE_FEAT_* */
	__le32 flags;		/* KVM_FT_WIRE_HS_F_* */
	__le32 reserved2;	/* 0 */
	__u8 nonce[KVM_FT_WIRE_NONCE_LEN];
	char name[KVM_FT_NAME_LEN];	/* the primary's VM, NUL-terminated */
} __attribute__((packed));

/* Backup to primary: its answer, OK or why it refuses. */
struct kvm_ft_wire_reply {
	__le32 status;		/* enum kvm_ft_wire_err: 0, or the refusal */
	__u8 version;		/* the one both speak, the highest */
	__u8 reserved[3];	/* 0 */
	__le32 features;	/* those both speak */
	__le32 flags;		/* KVM_FT_WIRE_HS_F_* */
	__u8 nonce[KVM_FT_WIRE_NONCE_LEN];
	char name[KVM_FT_NAME_LEN];	/* the backup's VM, NUL-terminated */
	__u8 proof[KVM_FT_WIRE_PROOF_LEN];	/* the backup holds the key */
} __attribute__((packed));

/* Primary to backup, last: it holds the key too. */
struct kvm_ft_wire_confirm {
	__u8 proof[KVM_FT_WIRE_PROOF_LEN];
} __attribute__((packed));

/* HELLO's flags: the backup VM must have been registered alike. */
#define KVM_FT_WIRE_HELLO_F_DEVICE	(1U << 0)	/* epochs carry DEVICE */
#define KVM_FT_WIRE_HELLO_F_ALL		KVM_FT_WIRE_HELLO_F_DEVICE

struct kvm_ft_wire_hello {
	__le64 mem_pages;	/* guest frames the backup must hold */
	__le32 nr_vcpus;
	__le32 flags;		/* KVM_FT_WIRE_HELLO_F_* */
	char name[KVM_FT_NAME_LEN];	/* NUL-terminated */
	__le32 machine;		/* the VMM's digest of its devices (DEVICE_SETUP) */
	__le32 reserved;	/* 0 */
} __attribute__((packed));

struct kvm_ft_wire_pages {
	__le32 count;		/* 1..KVM_FT_WIRE_MAX_PAGES */
	__le32 reserved;	/* 0 */
	/* __le64 gfn[count]; PAGES: __u8 data[count][KVM_FT_WIRE_PAGE_SIZE]; */
} __attribute__((packed));

/*
 * A page of a DELTA frame: the backup's copy must have CRC-32C @base; its
 * @len bytes of runs (each __le16 offset, __le16 n, then n bytes to put
 * there; in increasing order, apart, within the page) make the page
 * whose CRC-32C is @crc.  A delta that does not apply to the backup's
 * copy is refused (KVM_FT_WIRE_E_DELTA), never applied.
 */
struct kvm_ft_wire_delta {
	__le64 gfn;
	__le32 base;		/* CRC-32C of the page the backup must hold */
	__le32 crc;		/* CRC-32C of the page the runs make of it */
	__le32 len;		/* 0..KVM_FT_WIRE_DELTA_MAX bytes of runs follow */
} __attribute__((packed));

struct kvm_ft_wire_vcpu {
	__le32 index;		/* < nr_vcpus of HELLO */
	__le32 size;		/* 1..KVM_FT_WIRE_MAX_VCPU_STATE bytes follow */
} __attribute__((packed));

/*
 * A vCPU's state as runs (each __le16 offset, __le16 n, then n bytes; in
 * increasing order, apart, within @size) to put into the state the backup
 * holds for vCPU @index from epoch @base, which must be @size bytes too:
 * else it is refused (KVM_FT_WIRE_E_DELTA).  No runs: nothing changed.
 */
struct kvm_ft_wire_vcpu_delta {
	__le32 index;		/* < nr_vcpus of HELLO */
	__le32 size;		/* 1..KVM_FT_WIRE_VCPU_MAX: of the base and the result */
	__le64 base;		/* the epoch of the backup's state it applies to */
} __attribute__((packed));

/*
 * The VMM's device state as runs (each __le32 offset, __le32 n, then n
 * bytes; in increasing order, apart, within @size) to put into the blob
 * the backup took from the stream's last DEVICE or DEVICE_DELTA frame, of
 * epoch @base, which must be @size bytes too: else it is refused
 * (KVM_FT_WIRE_E_DELTA).  No runs: nothing changed.
 */
struct kvm_ft_wire_device_delta {
	__le32 size;		/* 1..KVM_FT_WIRE_MAX_DEVICE: of the base and the result */
	__le32 reserved;	/* 0 */
	__le64 base;		/* the epoch of the blob it applies to */
} __attribute__((packed));

/* Sent with verify_memory on: the checksum of all memory at the epoch's end. */
struct kvm_ft_wire_verify {
	__le32 crc;		/* CRC-32C of every user memslot, by slot id, page order */
	__le32 reserved;	/* 0 */
} __attribute__((packed));

struct kvm_ft_wire_epoch_end {
	__le64 nr_pages;	/* pages sent in this epoch's PAGES frames */
	__le32 nr_vcpus;	/* VCPU frames sent */
	__le32 device_len;	/* bytes of the blob sent, as DEVICE or DEVICE_DELTA (0: none) */
} __attribute__((packed));

#endif /* _UAPI_LINUX_KVM_FT_H */
