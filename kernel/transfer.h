/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_TRANSFER_H
#define KVM_FT_TRANSFER_H

#include <linux/mutex.h>
#include <linux/types.h>

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
	/* Liveness, in jiffies: the peer's last frame, our last frame. */
	unsigned long last_rx, last_tx;
};

void kvm_ft_link_init(struct kvm_ft_link *link);
/* Publish @sock as the link's; false (and nothing done) if stopping. */
bool kvm_ft_link_attach(struct kvm_ft_link *link, struct socket *sock);
/* Unpublish and release the link's socket. */
void kvm_ft_link_detach(struct kvm_ft_link *link);
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

/* A listening TCP socket on @addr:@port (network order address). */
int kvm_ft_sock_listen(__be32 addr, u16 port, struct socket **res);
/* A connected TCP socket; gives up after @timeout_ms. */
int kvm_ft_sock_connect(__be32 addr, u16 port, unsigned int timeout_ms,
			struct socket **res);

/*
 * Exactly @len bytes from the link's socket.  Meanwhile a heartbeat goes
 * out whenever we sent nothing for heartbeat_ms; a peer silent for
 * failover_timeout_ms is given up (-ETIMEDOUT).  -ENODATA: EOF before the
 * first byte; -EPIPE: EOF after it.
 */
int kvm_ft_link_recv(struct kvm_ft_link *link, void *buf, size_t len);
/*
 * Exactly @len bytes, as one frame.  A send blocked because the peer
 * reads nothing goes on for as long as the peer is heard from (its
 * heartbeats, read by the link thread); once it is silent for
 * failover_timeout_ms, or the link is stopping, -EAGAIN.
 */
int kvm_ft_link_send(struct kvm_ft_link *link, const void *buf, size_t len);
/* @head then @body, as one frame: nothing else goes between. */
int kvm_ft_link_send2(struct kvm_ft_link *link, const void *head, size_t head_len,
		      const void *body, size_t body_len);
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
