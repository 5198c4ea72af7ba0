// SPDX-License-Identifier: GPL-2.0
/*
 * In-kernel TCP between the two hosts' engines: the sockets are the
 * kernel's own (sock_create_kern), used from kernel threads.
 */
#include <linux/net.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "transfer.h"

int kvm_ft_sock_listen(__be32 addr, u16 port, struct socket **res)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = addr,
		.sin_port = htons(port),
	};
	struct socket *sock;
	int ret;

	ret = sock_create_kern(&init_net, AF_INET, SOCK_STREAM, IPPROTO_TCP, &sock);
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

int kvm_ft_sock_recv(struct socket *sock, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct kvec iov = { .iov_base = buf + done, .iov_len = len - done };
		struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
		int n = kernel_recvmsg(sock, &msg, &iov, 1, iov.iov_len, MSG_WAITALL);

		if (n < 0)
			return n;
		if (!n)
			return done ? -EPIPE : -ENODATA;
		done += n;
	}
	return 0;
}

int kvm_ft_sock_send(struct socket *sock, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct kvec iov = { .iov_base = (void *)buf + done, .iov_len = len - done };
		struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
		int n = kernel_sendmsg(sock, &msg, &iov, 1, iov.iov_len);

		if (n < 0)
			return n;
		done += n;
	}
	return 0;
}
