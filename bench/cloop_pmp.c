/* The benchmark's C floor for NAT-PMP and PCP: plain loops over the same native libnatpmp the binding loads
 * (artifacts/native/<rid>/libnatpmp.so, built by our CMake), and a minimal PCP MAP over a UDP socket (RFC 6887 §11;
 * there is no C PCP library in the project: this is the wire format and nothing else, the floor for PcpClient).
 *
 *   cloop_pmp natpmp-cold GW PORT   initnatpmp (gateway forced) + sendnewportmappingrequest (UDP, 3600 s) + select and
 *                                   readnatpmpresponseorretry until answered
 *   cloop_pmp pcp-cold GW PORT      one PCP MAP (UDP, 3600 s) until answered
 *   cloop_pmp serve GW              commands on stdin, one answer line each:
 *                                     natpmp-mapdel N PORT | pcp-mapdel N PORT | natpmp-del PORT | quit
 *
 * Every answer is one JSON line on stdout. Timings are CLOCK_MONOTONIC, from the start of main(): what a user waits for
 * in a fresh process. What a figure maps is removed after the clock stops. Every wait is bounded (libnatpmp gives up
 * after its 9 tries; PCP here after 6 sends, 250 ms then doubling). */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "natpmp.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static double t_start;
static in_addr_t gateway;

static void fail(const char *what, int r)
{
	printf("{\"error\": \"%s: %d\"}\n", what, r);
	fflush(stdout);
}

/* ---------------------------------------------------------------- NAT-PMP through libnatpmp (natpmpc's loop) */

/* One mapping request (lifetime 0: delete), waited for as natpmpc waits; returns 0 or libnatpmp's error. */
static int natpmp_map(int port, uint32_t lifetime)
{
	natpmp_t natpmp;
	natpmpresp_t response;
	int r = initnatpmp(&natpmp, 1, gateway);
	if (r < 0)
		return r;
	r = sendnewportmappingrequest(&natpmp, NATPMP_PROTOCOL_UDP, (uint16_t)port, (uint16_t)port, lifetime);
	if (r < 0) {
		closenatpmp(&natpmp);
		return r;
	}
	do {
		fd_set fds;
		struct timeval timeout;
		FD_ZERO(&fds);
		FD_SET(natpmp.s, &fds);
		getnatpmprequesttimeout(&natpmp, &timeout);
		select(natpmp.s + 1, &fds, NULL, NULL, &timeout);
		r = readnatpmpresponseorretry(&natpmp, &response);
	} while (r == NATPMP_TRYAGAIN);
	closenatpmp(&natpmp);
	if (r == 0 && lifetime && response.pnu.newportmapping.mappedpublicport != port)
		r = -1000; /* mapped elsewhere: the figure's cleanup would miss it */
	return r;
}

/* ---------------------------------------------------------------- PCP MAP, RFC 6887 */

#define PCP_PORT 5351
#define PCP_MAP_BYTES 60

/* Sends MAP (lifetime 0: delete, with the mapping's nonce) and waits for its answer; returns the result code (0:
 * success), or -1 when nothing valid came. */
static int pcp_map(int port, uint32_t lifetime, const unsigned char nonce[12])
{
	struct sockaddr_in server = { 0 }, local;
	socklen_t len = sizeof local;
	unsigned char req[PCP_MAP_BYTES] = { 0 }, resp[1100];
	int s = socket(AF_INET, SOCK_DGRAM, 0), tries, result = -1;
	if (s < 0)
		return -1;
	server.sin_family = AF_INET;
	server.sin_port = htons(PCP_PORT);
	server.sin_addr.s_addr = gateway;
	/* Connecting picks our source address, which MAP must carry (miniupnpd answers ADDRESS_MISMATCH otherwise). */
	if (connect(s, (struct sockaddr *)&server, sizeof server) < 0 || getsockname(s, (struct sockaddr *)&local, &len) < 0) {
		close(s);
		return -1;
	}
	req[0] = 2;                                     /* version */
	req[1] = 1;                                     /* MAP, request */
	req[4] = lifetime >> 24; req[5] = lifetime >> 16; req[6] = lifetime >> 8; req[7] = lifetime;
	req[18] = req[19] = 0xff;                       /* client address, IPv4-mapped */
	memcpy(req + 20, &local.sin_addr, 4);
	memcpy(req + 24, nonce, 12);
	req[36] = 17;                                   /* UDP */
	req[40] = port >> 8; req[41] = port & 0xff;     /* internal port */
	req[42] = port >> 8; req[43] = port & 0xff;     /* suggested external port */
	req[54] = req[55] = 0xff;                       /* suggested external address ::ffff:0.0.0.0: none */
	for (tries = 0, result = -1; tries < 6 && result < 0; tries++) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		double until = now_ms() + (250 << tries);
		if (send(s, req, sizeof req, 0) < 0 && errno != ECONNREFUSED)
			break;
		while (result < 0) {
			int left = (int)(until - now_ms());
			if (left <= 0 || poll(&p, 1, left) <= 0)
				break;
			ssize_t n = recv(s, resp, sizeof resp, 0);
			/* a MAP answer to this request: version 2, R + MAP, same nonce, protocol and internal port */
			if (n >= PCP_MAP_BYTES && resp[0] == 2 && resp[1] == 0x81 && memcmp(resp + 24, nonce, 12) == 0
			    && resp[36] == 17 && resp[40] == req[40] && resp[41] == req[41])
				result = resp[3];
		}
	}
	close(s);
	if (result == 0 && lifetime && (resp[42] << 8 | resp[43]) != port)
		result = 1000; /* mapped elsewhere: the figure's cleanup would miss it */
	return result;
}

static void new_nonce(unsigned char nonce[12])
{
	int fd = open("/dev/urandom", O_RDONLY);
	if (fd < 0 || read(fd, nonce, 12) != 12) {
		int i;
		for (i = 0; i < 12; i++)
			nonce[i] = (unsigned char)rand();
	}
	if (fd >= 0)
		close(fd);
}

/* ---------------------------------------------------------------- figures */

static int natpmp_cold(int port)
{
	int r = natpmp_map(port, 3600);
	double ms = now_ms() - t_start;
	if (r) {
		fail("natpmp map", r);
		return 1;
	}
	natpmp_map(port, 0);
	printf("{\"ms\": %.3f}\n", ms);
	return 0;
}

static int pcp_cold(int port)
{
	unsigned char nonce[12];
	new_nonce(nonce);
	int r = pcp_map(port, 3600, nonce);
	double ms = now_ms() - t_start;
	if (r) {
		fail("pcp map", r);
		return 1;
	}
	pcp_map(port, 0, nonce);
	printf("{\"ms\": %.3f}\n", ms);
	return 0;
}

static int serve(void)
{
	char line[256];
	int n, port, i, r;
	while (fgets(line, sizeof line, stdin)) {
		double t0 = now_ms();
		if (sscanf(line, "natpmp-mapdel %d %d", &n, &port) == 2) {
			for (i = 0, r = 0; i < n && !r; i++) {
				r = natpmp_map(port, 3600);
				if (!r)
					r = natpmp_map(port, 0);
			}
			if (r)
				fail("natpmp-mapdel", r);
			else
				printf("{\"ms\": %.3f, \"ops\": %d}\n", now_ms() - t0, n);
		} else if (sscanf(line, "pcp-mapdel %d %d", &n, &port) == 2) {
			unsigned char nonce[12];
			for (i = 0, r = 0; i < n && !r; i++) {
				new_nonce(nonce);
				r = pcp_map(port, 3600, nonce);
				if (!r)
					r = pcp_map(port, 0, nonce);
			}
			if (r)
				fail("pcp-mapdel", r);
			else
				printf("{\"ms\": %.3f, \"ops\": %d}\n", now_ms() - t0, n);
		} else if (sscanf(line, "natpmp-del %d", &port) == 1) {
			/* removes a NAT-PMP mapping of this host (UDP PORT -> PORT) another client left: natpmpc's */
			r = natpmp_map(port, 0);
			if (r)
				fail("natpmp-del", r);
			else
				printf("{\"ms\": %.3f}\n", now_ms() - t0);
		} else if (strncmp(line, "quit", 4) == 0) {
			break;
		} else {
			printf("{\"error\": \"unknown command\"}\n");
		}
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	t_start = now_ms();
	if (argc >= 3)
		gateway = inet_addr(argv[2]);
	if (argc == 4 && strcmp(argv[1], "natpmp-cold") == 0)
		return natpmp_cold(atoi(argv[3]));
	if (argc == 4 && strcmp(argv[1], "pcp-cold") == 0)
		return pcp_cold(atoi(argv[3]));
	if (argc == 3 && strcmp(argv[1], "serve") == 0)
		return serve();
	fprintf(stderr, "usage: cloop_pmp natpmp-cold GW PORT | pcp-cold GW PORT | serve GW\n");
	return 2;
}
