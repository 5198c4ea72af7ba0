// SPDX-License-Identifier: GPL-2.0
/*
 * In-kernel TCP between the two hosts' engines: the sockets are the
 * kernel's own (sock_create_kern), each owned by one kernel thread.
 *
 * Liveness is judged on received frames alone: every frame counts, and a
 * side with nothing else to send sends heartbeats (also while it is busy
 * receiving), so a peer silent for longer than the failover timeout is
 * gone (or cut off), whatever TCP still believes.
 *
 * Contexts: a link's own thread (kvm_ft_tx/NAME, kvm_ft_rx/NAME) receives,
 * beats and, on a backup, sends; a primary's sender (kvm_ft_ep/NAME)
 * sends epochs; a netlink handler or the VM's destruction stops a link
 * (kvm_ft_link_stop(), _finish(), _reset()).  All may sleep.
 */
#include <asm/unaligned.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/net.h>
#include <linux/in.h>
#include <linux/random.h>
#include <linux/tcp.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "seal.h"
#include "sysfs.h"
#include "transfer.h"
#include "wire.h"

void kvm_ft_link_init(struct kvm_ft_link *link)
{
	mutex_init(&link->lock);
	mutex_init(&link->send_lock);
}

/*
 * Apply the knobs as they are now, so that an administrator's change takes
 * effect on a live link: wake at least once a heartbeat interval to send
 * one if due, or to see whether a peer that reads nothing still lives.
 */
static void link_timeouts(struct socket *sock)
{
	WRITE_ONCE(sock->sk->sk_rcvtimeo,
		   msecs_to_jiffies(READ_ONCE(kvm_ft_defaults.heartbeat_ms)));
	WRITE_ONCE(sock->sk->sk_sndtimeo,
		   msecs_to_jiffies(READ_ONCE(kvm_ft_defaults.heartbeat_ms)));
}

#define HDR_LEN			sizeof(struct kvm_ft_wire_hdr)
#define HANDSHAKE_MS_MIN	2000

unsigned int kvm_ft_link_handshake_ms(void)
{
	return max(READ_ONCE(kvm_ft_defaults.failover_timeout_ms), HANDSHAKE_MS_MIN);
}

bool kvm_ft_link_attach(struct kvm_ft_link *link, struct socket *sock)
{
	bool ok;

	tcp_sock_set_nodelay(sock->sk);
	WRITE_ONCE(link->last_rx, jiffies);
	link->last_tx = jiffies;
	link->last_wake = jiffies;
	WRITE_ONCE(link->grace, jiffies);
	link->handshake = true;
	link->heard = false;
	link->hs_deadline = jiffies + msecs_to_jiffies(kvm_ft_link_handshake_ms());

	mutex_lock(&link->lock);
	ok = !READ_ONCE(link->stopping);
	if (ok)
		link->sock = sock;
	mutex_unlock(&link->lock);
	return ok;
}

void kvm_ft_link_detach(struct kvm_ft_link *link)
{
	struct socket *sock;

	mutex_lock(&link->lock);
	sock = link->sock;
	link->sock = NULL;
	mutex_unlock(&link->lock);
	if (sock)
		sock_release(sock);
	mutex_lock(&link->send_lock);
	kvm_ft_seal_free(link->seal);
	link->seal = NULL;
	mutex_unlock(&link->send_lock);
}

int kvm_ft_link_hs_begin(struct kvm_ft_wire_hs *hs, bool keyed, const u8 *key,
			 const char *name)
{
	/* A nonce from a generator not yet seeded could be guessed: not yet. */
	if (!rng_is_initialized()) {
		pr_warn_ratelimited("%s: the kernel's random generator is not seeded yet: no handshake\n",
				    name);
		return KVM_FT_WIRE_E_HANDSHAKE;
	}
	memset(hs, 0, sizeof(*hs));
	hs->keyed = keyed;
	memcpy(hs->key, key, KVM_FT_KEY_LEN);
	get_random_bytes(hs->nonce, sizeof(hs->nonce));
	strscpy(hs->name, name, KVM_FT_NAME_LEN);
	hs->features = KVM_FT_WIRE_FEAT_ALL;
	return KVM_FT_WIRE_OK;
}

int kvm_ft_link_secure(struct kvm_ft_link *link, const struct kvm_ft_wire_hs *hs, bool primary)
{
	struct kvm_ft_seal *seal = NULL;

	if (hs->keyed) {
		seal = primary ? kvm_ft_seal_new(hs->key_p2b, hs->key_b2p) :
				 kvm_ft_seal_new(hs->key_b2p, hs->key_p2b);
		if (IS_ERR(seal))
			return KVM_FT_WIRE_E_NOMEM;
	}
	mutex_lock(&link->send_lock);
	link->seal = seal;
	mutex_unlock(&link->send_lock);
	WRITE_ONCE(link->last_rx, jiffies);
	WRITE_ONCE(link->handshake, false);
	return KVM_FT_WIRE_OK;
}

bool kvm_ft_link_sealed(struct kvm_ft_link *link)
{
	return link->seal;
}

void kvm_ft_link_shutdown(struct kvm_ft_link *link)
{
	mutex_lock(&link->lock);
	if (link->sock)
		kernel_sock_shutdown(link->sock, SHUT_RDWR);
	mutex_unlock(&link->lock);
}

void kvm_ft_link_stop(struct kvm_ft_link *link, struct socket *listen)
{
	WRITE_ONCE(link->stopping, true);
	if (listen)
		kernel_sock_shutdown(listen, SHUT_RDWR);
	kvm_ft_link_shutdown(link);
	if (link->thread)
		kthread_stop(link->thread);
	link->thread = NULL;		/* a failover stops a link before its end */
}

void kvm_ft_link_end_write(struct kvm_ft_link *link)
{
	WRITE_ONCE(link->said_all, true);	/* no beats after our FIN */
	mutex_lock(&link->lock);
	if (link->sock)
		kernel_sock_shutdown(link->sock, SHUT_WR);
	mutex_unlock(&link->lock);
}

void kvm_ft_link_finish(struct kvm_ft_link *link)
{
	WRITE_ONCE(link->stopping, true);	/* its end is no loss */
	kvm_ft_link_end_write(link);
}

void kvm_ft_link_reset(struct kvm_ft_link *link)
{
	mutex_lock(&link->lock);
	if (link->sock)
		tcp_abort(link->sock->sk, ECONNABORTED);	/* RST, and wakes both sides */
	mutex_unlock(&link->lock);
}

int kvm_ft_link_park(void)
{
	set_current_state(TASK_INTERRUPTIBLE);
	while (!kthread_should_stop()) {
		schedule();
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/* A TCP socket of the kernel's own, of @a's family. */
static int tcp_socket(const union kvm_ft_addr *a, struct socket **res)
{
	return sock_create_kern(&init_net, a->sa.sa_family, SOCK_STREAM, IPPROTO_TCP, res);
}

static int addr_len(const union kvm_ft_addr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->v6) : sizeof(a->v4);
}

int kvm_ft_sock_listen(const union kvm_ft_addr *a, struct socket **res)
{
	struct socket *sock;
	int ret;

	ret = tcp_socket(a, &sock);
	if (ret)
		return ret;
	sock_set_reuseaddr(sock->sk);
	ret = kernel_bind(sock, (struct sockaddr *)&a->sa, addr_len(a));
	if (!ret)
		ret = kernel_listen(sock, 1);
	if (ret) {
		sock_release(sock);
		return ret;
	}
	*res = sock;
	return 0;
}

int kvm_ft_sock_connect(const union kvm_ft_addr *a, unsigned int timeout_ms,
			struct socket **res)
{
	struct socket *sock;
	int ret;

	ret = tcp_socket(a, &sock);
	if (ret)
		return ret;
	sock->sk->sk_sndtimeo = msecs_to_jiffies(timeout_ms);	/* bounds connect */
	ret = kernel_connect(sock, (struct sockaddr *)&a->sa, addr_len(a), 0);
	if (ret) {
		sock_release(sock);
		return ret;
	}
	*res = sock;
	return 0;
}

/* Nothing has arrived from the peer for the failover timeout (or the handshake is late). */
static bool peer_silent(struct kvm_ft_link *link)
{
	unsigned long dead = msecs_to_jiffies(READ_ONCE(kvm_ft_defaults.failover_timeout_ms));

	if (READ_ONCE(link->handshake))
		return time_after(jiffies, link->hs_deadline);
	if (time_before(jiffies, READ_ONCE(link->grace)))
		return false;
	return time_after(jiffies, READ_ONCE(link->last_rx) + dead);
}

/*
 * The reader is back from the socket.  It wakes at least once a heartbeat
 * interval; back twice that late, it did not run (its own host stalled),
 * and what the peer sent meanwhile may still be on its way in through
 * this host: it listens one more interval before it calls the peer silent.
 * A backup that took its own stall for the primary's death would resume a
 * VM that still runs.  Once per silence: a reader always late (a host
 * starved for good) still gives up on a dead peer.  Link thread.
 */
static void reader_woke(struct kvm_ft_link *link)
{
	unsigned long beat = msecs_to_jiffies(READ_ONCE(kvm_ft_defaults.heartbeat_ms));
	unsigned long now = jiffies;

	if (time_after(now, link->last_wake + 2 * beat) &&
	    !time_after(READ_ONCE(link->grace), READ_ONCE(link->last_rx)))
		WRITE_ONCE(link->grace, now + beat);
	link->last_wake = now;
}

/*
 * All of @len bytes, or an error; caller holds send_lock.  A send that
 * blocks (the peer reads nothing while it applies a large epoch) goes on
 * waiting as long as the peer is heard from: its heartbeats say it lives.
 */
static int send_all(struct kvm_ft_link *link, const void *buf, size_t len)
{
	size_t done = 0;
	int n;

	lockdep_assert_held(&link->send_lock);
	while (done < len) {
		struct kvec iov = { .iov_base = (void *)buf + done, .iov_len = len - done };
		struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };

		n = kernel_sendmsg(link->sock, &msg, &iov, 1, iov.iov_len);
		if (n == -EAGAIN && !peer_silent(link) && !READ_ONCE(link->stopping))
			continue;	/* the send timeout: a heartbeat interval */
		if (n < 0)
			return n;
		done += n;
	}
	return 0;
}

/* Bytes as they are, all or an error; caller holds send_lock. */
static int send_bytes(struct kvm_ft_link *link, const void *head, size_t head_len,
		      const void *body, size_t body_len, const void *tail, size_t tail_len)
{
	int ret = send_all(link, head, head_len);

	if (!ret)
		ret = send_all(link, body, body_len);
	if (!ret)
		ret = send_all(link, tail, tail_len);
	if (!ret)
		WRITE_ONCE(link->last_tx, jiffies);
	return ret;
}

/* One frame, sealed or checksummed; caller holds send_lock. */
static int send_frame(struct kvm_ft_link *link, void *hdr, void *payload)
{
	u32 len = get_unaligned_le32(hdr + 8);	/* the header's len */
	const u8 *tag;
	int ret;

	lockdep_assert_held(&link->send_lock);
	if (!link->seal) {
		kvm_ft_wire_put_crc(hdr, payload);
		return send_bytes(link, hdr, HDR_LEN, payload, len, NULL, 0);
	}
	ret = kvm_ft_seal_frame(link->seal, hdr, payload, len, &tag);
	if (ret)
		return ret;
	return send_bytes(link, hdr, HDR_LEN, payload, len, tag, KVM_FT_WIRE_TAG_LEN);
}

int kvm_ft_link_send(struct kvm_ft_link *link, void *hdr, void *payload)
{
	int ret;

	mutex_lock(&link->send_lock);
	ret = send_frame(link, hdr, payload);
	mutex_unlock(&link->send_lock);
	return ret;
}

int kvm_ft_link_send_clear(struct kvm_ft_link *link, const void *frame, size_t len)
{
	int ret;

	mutex_lock(&link->send_lock);
	ret = send_bytes(link, frame, len, NULL, 0, NULL, 0);
	mutex_unlock(&link->send_lock);
	return ret ? KVM_FT_WIRE_E_IO : KVM_FT_WIRE_OK;
}

void kvm_ft_link_cork(struct kvm_ft_link *link, bool on)
{
	mutex_lock(&link->send_lock);
	tcp_sock_set_cork(link->sock->sk, on);
	mutex_unlock(&link->send_lock);
}

int kvm_ft_link_send_empty(struct kvm_ft_link *link, u8 type, u64 epoch)
{
	u8 hdr[HDR_LEN];

	kvm_ft_wire_put_hdr(hdr, type, epoch, 0);
	return kvm_ft_link_send(link, hdr, NULL);
}

/*
 * Send a heartbeat if we have been quiet for an interval.  Also while
 * frames keep arriving: a backup taking a long epoch (the sync) must not
 * look dead to its primary for want of anything to say.  Not while another
 * thread sends a frame, nor while the socket is full: that is no silence,
 * and a send may wait for the peer to read, while the caller (a link
 * thread) must go on reading.
 */
int kvm_ft_link_beat(struct kvm_ft_link *link)
{
	unsigned long beat = msecs_to_jiffies(READ_ONCE(kvm_ft_defaults.heartbeat_ms));
	u8 hdr[HDR_LEN];
	int ret;

	/* Finishing: we said all we had; shaking hands: not yet a word. */
	if (READ_ONCE(link->stopping) || READ_ONCE(link->said_all) ||
	    READ_ONCE(link->handshake))
		return 0;
	if (time_before(jiffies, READ_ONCE(link->last_tx) + beat) ||
	    !mutex_trylock(&link->send_lock))
		return 0;
	/* Nor when what is queued already fills the socket: that will do. */
	ret = 0;
	if (sk_stream_memory_free(link->sock->sk)) {
		kvm_ft_wire_put_hdr(hdr, KVM_FT_WIRE_HEARTBEAT, 0, 0);
		ret = send_frame(link, hdr, NULL);
	}
	mutex_unlock(&link->send_lock);
	return ret;
}

/* Nothing arrived for a while: give up on silence, else beat if due. */
static int idle(struct kvm_ft_link *link)
{
	if (peer_silent(link))
		return -ETIMEDOUT;
	return kvm_ft_link_beat(link);
}

int kvm_ft_link_recv(struct kvm_ft_link *link, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct kvec iov = { .iov_base = buf + done, .iov_len = len - done };
		struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
		int n;

		link_timeouts(link->sock);
		n = kernel_recvmsg(link->sock, &msg, &iov, 1, iov.iov_len, MSG_WAITALL);
		reader_woke(link);

		if (n == -EAGAIN) {
			n = idle(link);
			if (n)
				return n;
			continue;
		}
		if (n < 0)
			return n;
		if (!n)
			return done ? -EPIPE : -ENODATA;
		done += n;
		link->heard = true;
		WRITE_ONCE(link->last_rx, jiffies);
		n = kvm_ft_link_beat(link);
		if (n)
			return n;
	}
	return 0;
}

int kvm_ft_link_recv_clear(struct kvm_ft_link *link, void *frame, size_t max)
{
	struct kvm_ft_wire_msg m;
	int ret, err;

	ret = kvm_ft_link_recv(link, frame, HDR_LEN);
	if (!ret) {
		/* The header alone bounds the payload, before a byte of it is read. */
		err = kvm_ft_wire_decode_hdr(frame, &m);
		if (err)
			return err;
		if (HDR_LEN + m.len > max)
			return KVM_FT_WIRE_E_ORDER;	/* no handshake frame */
		ret = kvm_ft_link_recv(link, frame + HDR_LEN, m.len);
	}
	return kvm_ft_link_error_kind(link, ret);
}

int kvm_ft_link_error_kind(struct kvm_ft_link *link, int err)
{
	switch (err) {
	case 0:
		return KVM_FT_WIRE_OK;
	case -ETIMEDOUT:
		return READ_ONCE(link->handshake) ? KVM_FT_WIRE_E_HANDSHAKE : KVM_FT_WIRE_E_SILENCE;
	case -ENODATA:
	case -EPIPE:
		return KVM_FT_WIRE_E_TRUNCATED;
	case -EBADMSG:
		return KVM_FT_WIRE_E_AUTH;
	case -ENOMEM:
		return KVM_FT_WIRE_E_NOMEM;
	}
	return KVM_FT_WIRE_E_IO;
}

int kvm_ft_link_open(struct kvm_ft_link *link, const void *hdr, void *payload, u32 len)
{
	int ret;

	if (!link->seal)
		return 0;
	ret = kvm_ft_link_recv(link, kvm_ft_seal_rx_tag(link->seal), KVM_FT_WIRE_TAG_LEN);
	if (ret)
		return ret == -ENODATA ? -EPIPE : ret;	/* inside a frame */
	return kvm_ft_seal_open(link->seal, hdr, payload, len);
}
