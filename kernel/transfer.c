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
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/net.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp.h>

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

bool kvm_ft_link_attach(struct kvm_ft_link *link, struct socket *sock)
{
	bool ok;

	tcp_sock_set_nodelay(sock->sk);
	WRITE_ONCE(link->last_rx, jiffies);
	link->last_tx = jiffies;

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

/* A TCP socket of the kernel's own, and @addr:@port as a sockaddr. */
static int tcp_socket(__be32 addr, u16 port, struct sockaddr_in *sin,
		      struct socket **res)
{
	*sin = (struct sockaddr_in) {
		.sin_family = AF_INET,
		.sin_addr.s_addr = addr,
		.sin_port = htons(port),
	};
	return sock_create_kern(&init_net, AF_INET, SOCK_STREAM, IPPROTO_TCP, res);
}

int kvm_ft_sock_listen(__be32 addr, u16 port, struct socket **res)
{
	struct sockaddr_in sin;
	struct socket *sock;
	int ret;

	ret = tcp_socket(addr, port, &sin, &sock);
	if (ret)
		return ret;
	sock_set_reuseaddr(sock->sk);
	ret = kernel_bind(sock, (struct sockaddr *)&sin, sizeof(sin));
	if (!ret)
		ret = kernel_listen(sock, 1);
	if (ret) {
		sock_release(sock);
		return ret;
	}
	*res = sock;
	return 0;
}

int kvm_ft_sock_connect(__be32 addr, u16 port, unsigned int timeout_ms,
			struct socket **res)
{
	struct sockaddr_in sin;
	struct socket *sock;
	int ret;

	ret = tcp_socket(addr, port, &sin, &sock);
	if (ret)
		return ret;
	sock->sk->sk_sndtimeo = msecs_to_jiffies(timeout_ms);	/* bounds connect */
	ret = kernel_connect(sock, (struct sockaddr *)&sin, sizeof(sin), 0);
	if (ret) {
		sock_release(sock);
		return ret;
	}
	*res = sock;
	return 0;
}

/* Nothing has arrived from the peer for the failover timeout. */
static bool peer_silent(struct kvm_ft_link *link)
{
	unsigned long dead = msecs_to_jiffies(READ_ONCE(kvm_ft_defaults.failover_timeout_ms));

	return time_after(jiffies, READ_ONCE(link->last_rx) + dead);
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

/* One frame, its header and body; caller holds send_lock. */
static int send_frame(struct kvm_ft_link *link, const void *head, size_t head_len,
		      const void *body, size_t body_len)
{
	int ret = send_all(link, head, head_len);

	if (!ret)
		ret = send_all(link, body, body_len);
	if (!ret)
		WRITE_ONCE(link->last_tx, jiffies);
	return ret;
}

int kvm_ft_link_send2(struct kvm_ft_link *link, const void *head, size_t head_len,
		      const void *body, size_t body_len)
{
	int ret;

	mutex_lock(&link->send_lock);
	ret = send_frame(link, head, head_len, body, body_len);
	mutex_unlock(&link->send_lock);
	return ret;
}

void kvm_ft_link_cork(struct kvm_ft_link *link, bool on)
{
	mutex_lock(&link->send_lock);
	tcp_sock_set_cork(link->sock->sk, on);
	mutex_unlock(&link->send_lock);
}

int kvm_ft_link_send(struct kvm_ft_link *link, const void *buf, size_t len)
{
	return kvm_ft_link_send2(link, buf, len, NULL, 0);
}

static void empty_frame(u8 *hdr, u8 type, u64 epoch)
{
	kvm_ft_wire_put_hdr(hdr, type, epoch, 0);
	kvm_ft_wire_seal(hdr, NULL);
}

int kvm_ft_link_send_empty(struct kvm_ft_link *link, u8 type, u64 epoch)
{
	u8 hdr[sizeof(struct kvm_ft_wire_hdr)];

	empty_frame(hdr, type, epoch);
	return kvm_ft_link_send(link, hdr, sizeof(hdr));
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
	u8 hdr[sizeof(struct kvm_ft_wire_hdr)];
	int ret;

	if (READ_ONCE(link->stopping) || READ_ONCE(link->said_all))
		return 0;			/* finishing: we said all we had */
	if (time_before(jiffies, READ_ONCE(link->last_tx) + beat) ||
	    !mutex_trylock(&link->send_lock))
		return 0;
	/* Nor when what is queued already fills the socket: that will do. */
	ret = 0;
	if (sk_stream_memory_free(link->sock->sk)) {
		empty_frame(hdr, KVM_FT_WIRE_HEARTBEAT, 0);
		ret = send_frame(link, hdr, sizeof(hdr), NULL, 0);
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
		WRITE_ONCE(link->last_rx, jiffies);
		n = kvm_ft_link_beat(link);
		if (n)
			return n;
	}
	return 0;
}
