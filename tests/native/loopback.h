/* Helpers shared by the loopback tests of tests/native/: a listening socket on 127.0.0.1 and a bounded way to
 * serve one HTTP request on it. Loopback only; every wait is bounded. */
#ifndef MINIUPNPNET_LOOPBACK_H
#define MINIUPNPNET_LOOPBACK_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A listener on 127.0.0.1, ephemeral port; returns the descriptor, the port in *port. */
static int lb_listen(int backlog, unsigned short * port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if(fd < 0) {
		perror("socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;
	if(bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, backlog) < 0
	   || getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("bind/listen");
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* accept() that gives up after timeout_ms. */
static int lb_accept(int lfd, int timeout_ms)
{
	struct pollfd p;
	p.fd = lfd;
	p.events = POLLIN;
	p.revents = 0;
	if(poll(&p, 1, timeout_ms) != 1)
		return -1;
	return accept(lfd, NULL, NULL);
}

/* Reads an HTTP request head (bounded in size and time), then sends response[0..len) and closes. */
static int lb_serve_one(int lfd, const char * response, size_t len, int timeout_ms)
{
	char req[4096];
	size_t used = 0;
	size_t sent = 0;
	int c = lb_accept(lfd, timeout_ms);
	if(c < 0) {
		fprintf(stderr, "server: no connection within %d ms\n", timeout_ms);
		return -1;
	}
	while(used < sizeof(req) - 1) {
		struct pollfd p;
		ssize_t n;
		p.fd = c;
		p.events = POLLIN;
		p.revents = 0;
		if(poll(&p, 1, timeout_ms) != 1)
			break;
		n = recv(c, req + used, sizeof(req) - 1 - used, 0);
		if(n <= 0)
			break;
		used += (size_t)n;
		req[used] = '\0';
		if(strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	while(sent < len) {
		ssize_t n = send(c, response + sent, len - sent, MSG_NOSIGNAL);
		if(n <= 0)
			break;
		sent += (size_t)n;
	}
	close(c);
	return sent == len ? 0 : -1;
}

#endif
