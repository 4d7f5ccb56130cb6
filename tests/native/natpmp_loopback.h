/* Helpers of the libnatpmp reproducers (tests/native/natpmp_*.c): a NAT-PMP "gateway" that is a UDP socket of the
 * test itself on 127.0.0.1 (ephemeral port), and a natpmp_t whose socket talks to it. Loopback only; every wait is
 * bounded.
 *
 * initnatpmp() connects its UDP socket to <gateway>:5351 (NATPMP_PORT, fixed). The test forces the gateway
 * 127.0.0.1, then connects the same socket to the responder's port instead, so that no fixed port is needed:
 * readnatpmpresponse() checks only the source address of an answer (127.0.0.1), not its port. */
#ifndef MINIUPNPNET_NATPMP_LOOPBACK_H
#define MINIUPNPNET_NATPMP_LOOPBACK_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "natpmp.h"

#define NL_WAIT_MS 2000

struct nl_gateway {
	int fd;                    /* the responder's socket */
	struct sockaddr_in client; /* where the last request came from */
	natpmp_t p;                /* the library's side */
};

static int nl_readable(int fd, int timeout_ms)
{
	struct pollfd pfd;
	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	return poll(&pfd, 1, timeout_ms) == 1;
}

/* Reads and drops whatever is queued on fd (answers a failing case left unread, retries of a request). */
static void nl_drain(int fd)
{
	unsigned char buf[64];
	while(recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

static int nl_open(struct nl_gateway * g)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int r;
	memset(g, 0, sizeof(*g));
	g->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if(g->fd < 0) {
		perror("socket");
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if(bind(g->fd, (struct sockaddr *)&a, sizeof(a)) < 0 || getsockname(g->fd, (struct sockaddr *)&a, &len) < 0) {
		perror("bind");
		return -1;
	}
	r = initnatpmp(&g->p, 1, htonl(INADDR_LOOPBACK));
	if(r < 0) {
		fprintf(stderr, "initnatpmp: %d (%s)\n", r, strnatpmperr(r));
		return -1;
	}
	if(connect(g->p.s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect to the responder");
		return -1;
	}
	return 0;
}

static void nl_close(struct nl_gateway * g)
{
	closenatpmp(&g->p);
	close(g->fd);
}

/* Receives the library's request (bounded wait); returns its length, the bytes in req. */
static int nl_request(struct nl_gateway * g, unsigned char * req, size_t size)
{
	socklen_t len = sizeof(g->client);
	ssize_t n;
	if(!nl_readable(g->fd, NL_WAIT_MS)) {
		fprintf(stderr, "responder: no request within %d ms\n", NL_WAIT_MS);
		return -1;
	}
	n = recvfrom(g->fd, req, size, 0, (struct sockaddr *)&g->client, &len);
	return (int)n;
}

/* Sends one answer datagram of exactly len bytes to the library. */
static int nl_answer(struct nl_gateway * g, const unsigned char * answer, size_t len)
{
	ssize_t n = sendto(g->fd, answer, len, 0, (struct sockaddr *)&g->client, sizeof(g->client));
	return n == (ssize_t)len ? 0 : -1;
}

/* readnatpmpresponseorretry() once an answer is queued (bounded wait), as natpmpc does after select(). */
static int nl_read(struct nl_gateway * g, natpmpresp_t * resp)
{
	if(!nl_readable(g->p.s, NL_WAIT_MS)) {
		fprintf(stderr, "client: nothing to read within %d ms\n", NL_WAIT_MS);
		return -1000;
	}
	memset(resp, 0, sizeof(*resp));
	return readnatpmpresponseorretry(&g->p, resp);
}

/* NAT-PMP answers (RFC 6886): a public-address answer (12 bytes) and a mapping answer (16 bytes). */
static size_t nl_public_address_answer(unsigned char * b, uint32_t epoch, const char * address)
{
	struct in_addr a;
	inet_pton(AF_INET, address, &a);
	b[0] = 0; b[1] = 128; b[2] = 0; b[3] = 0;
	b[4] = epoch >> 24; b[5] = epoch >> 16; b[6] = epoch >> 8; b[7] = epoch;
	memcpy(b + 8, &a, 4);
	return 12;
}

static size_t nl_mapping_answer(unsigned char * b, int protocol, uint32_t epoch, uint16_t privateport,
                                uint16_t publicport, uint32_t lifetime)
{
	b[0] = 0; b[1] = 128 + protocol; b[2] = 0; b[3] = 0;
	b[4] = epoch >> 24; b[5] = epoch >> 16; b[6] = epoch >> 8; b[7] = epoch;
	b[8] = privateport >> 8; b[9] = privateport;
	b[10] = publicport >> 8; b[11] = publicport;
	b[12] = lifetime >> 24; b[13] = lifetime >> 16; b[14] = lifetime >> 8; b[15] = lifetime;
	return 16;
}

#endif
