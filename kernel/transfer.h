/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_TRANSFER_H
#define KVM_FT_TRANSFER_H

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/mutex.h>
#include <linux/types.h>

struct kvm_ft_seal;
struct kvm_ft_wire_hs;
struct socket;
struct task_struct;

/*
 * One side's connection and the kernel thread that owns it.  Only the
 * thread reads the socket; it and, on a primary, the sender write whole
 * frames under @send_lock; a stopper may shut it down (under @lock) to
 * wake the thread from a blocking call.
 */
struct kvm_ft_link {
	struct task_struct *thread;
	struct mutex lock;		/* @sock, against the stopper */
	struct mutex send_lock;		/* whole frames, from two threads */
	struct socket *sock;
	bool stopping;
	bool said_all;			/* our FIN is sent: no more heartbeats */
	/*
	 * From attach until kvm_ft_link_secure(): the handshake, in the
	 * clear, no heartbeats, and over at @hs_deadline however much the
	 * peer trickles in.  Then every frame is sealed with @seal (NULL:
	 * the pair said insecure: a checksum instead).
	 */
	bool handshake;
	bool heard;			/* a byte came since attach */
	unsigned long hs_deadline;
	struct kvm_ft_seal *seal;	/* under send_lock, read by the reader */
	/* Liveness, in jiffies: the peer's last frame, our last frame. */
	unsigned long last_rx, last_tx;
	/* The reader's last return from the socket; no verdict before @grace. */
	unsigned long last_wake, grace;
};

void kvm_ft_link_init(struct kvm_ft_link *link);
/* Publish @sock as the link's; false (and nothing done) if stopping. */
bool kvm_ft_link_attach(struct kvm_ft_link *link, struct socket *sock);
/* Unpublish and release the link's socket, and its keys. */
void kvm_ft_link_detach(struct kvm_ft_link *link);
/*
 * Our side of a handshake: the key (or insecure), a fresh nonce, our VM's
 * name.  OK, or HANDSHAKE while the kernel's random generator is not
 * seeded (its nonce could be guessed): try later.
 */
int kvm_ft_link_hs_begin(struct kvm_ft_wire_hs *hs, bool keyed, const u8 *key,
			 const char *name);
/*
 * The handshake @hs is done, on the primary's side if @primary: frames
 * are sealed with its keys from here (checksummed, if insecure).  OK, or
 * NOMEM (a kind).
 */
int kvm_ft_link_secure(struct kvm_ft_link *link, const struct kvm_ft_wire_hs *hs, bool primary);
/* Make the thread return from whatever it blocks in, and wait for it. */
/* End the connection (not the thread): its reader sees it end. */
void kvm_ft_link_shutdown(struct kvm_ft_link *link);
void kvm_ft_link_stop(struct kvm_ft_link *link, struct socket *listen);
/*
 * Say we are done (a FIN) but go on reading: the peer may still be
 * acknowledging; closing with its frames unread would reset the connection.
 */
void kvm_ft_link_finish(struct kvm_ft_link *link);
/*
 * The same without stopping: the thread reads on until the peer closes,
 * and reports the end as a loss (a primary that gives up on its epochs).
 */
void kvm_ft_link_end_write(struct kvm_ft_link *link);
/* Reset the connection now, as a crash would: the peer sees no clean close. */
void kvm_ft_link_reset(struct kvm_ft_link *link);
/* The thread's end: wait for kvm_ft_link_stop() before returning. */
int kvm_ft_link_park(void);

/* How long a handshake may take: failover_timeout_ms, at least 2 s. */
unsigned int kvm_ft_link_handshake_ms(void);

/* Where a link listens or connects: an IPv4 or an IPv6 address, and a port. */
union kvm_ft_addr {
	struct sockaddr sa;		/* sa_family AF_UNSPEC: none */
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

/* A listening TCP socket on @a. */
int kvm_ft_sock_listen(const union kvm_ft_addr *a, struct socket **res);
/* A TCP socket connected to @a; gives up after @timeout_ms. */
int kvm_ft_sock_connect(const union kvm_ft_addr *a, unsigned int timeout_ms,
			struct socket **res);

/*
 * Exactly @len bytes from the link's socket.  Meanwhile a heartbeat goes
 * out whenever we sent nothing for heartbeat_ms; a peer silent for
 * failover_timeout_ms is given up (-ETIMEDOUT).  -ENODATA: EOF before the
 * first byte; -EPIPE: EOF after it.
 */
int kvm_ft_link_recv(struct kvm_ft_link *link, void *buf, size_t len);
/*
 * A handshake frame as it is (in the clear, its checksum in place), or
 * read one into @frame (room for @max bytes): a wire error kind (OK).
 */
int kvm_ft_link_send_clear(struct kvm_ft_link *link, const void *frame, size_t len);
int kvm_ft_link_recv_clear(struct kvm_ft_link *link, void *frame, size_t max);
/*
 * One frame: @hdr (its len says how much of @payload follows), sealed in
 * place or given its checksum, sent whole: nothing else goes between.  A
 * send blocked because the peer reads nothing goes on for as long as the
 * peer is heard from (its heartbeats, read by the link thread); once it is
 * silent for failover_timeout_ms, or the link is stopping, -EAGAIN.
 * @payload is the link's afterwards (sealed, it is ciphertext).
 */
int kvm_ft_link_send(struct kvm_ft_link *link, void *hdr, void *payload);
/*
 * After reading a frame's header and @len bytes of payload: if sealed,
 * read its tag and open it in place.  0, a recv error, or -EBADMSG: it
 * did not authenticate.
 */
int kvm_ft_link_open(struct kvm_ft_link *link, const void *hdr, void *payload, u32 len);
/*
 * The one mapping of the link's errors (a negative errno from the calls
 * above) to the kinds counted and reported (enum kvm_ft_wire_err):
 * silence (or, shaking hands, no handshake in time), truncation, a frame
 * that did not open, memory, and any other socket error.
 */
int kvm_ft_link_error_kind(struct kvm_ft_link *link, int err);
/* The link's frames are sealed (else checksummed). */
bool kvm_ft_link_sealed(struct kvm_ft_link *link);
/*
 * A heartbeat if we sent nothing for heartbeat_ms (recv does it too):
 * for a side that is busy long without receiving, e.g. applying the sync.
 * None while another thread sends a frame: the caller never waits.
 */
int kvm_ft_link_beat(struct kvm_ft_link *link);
/*
 * Hold back partial segments until uncorked (which sends them), so that
 * the small frames of an epoch go out together rather than a packet each.
 */
void kvm_ft_link_cork(struct kvm_ft_link *link, bool on);
/* A frame with no payload (ACK, HEARTBEAT). */
int kvm_ft_link_send_empty(struct kvm_ft_link *link, u8 type, u64 epoch);

#endif /* KVM_FT_TRANSFER_H */
