/* A server that drips its HTTP reply for ever, through miniwget (reproducer of our patch
 * ours-miniwget-total-deadline).
 *
 * The server sends a status line, then one byte of a header line every second, and never ends the reply.
 * miniupnpc 2.3.3 waits up to 5 s per receive and restarts the wait on every byte: miniwget returns only
 * when the server stops (here after DRIP_SECONDS, a cap so that the failing case ends too). With the patch,
 * getHTTPResponse gives the whole reply MINIUPNPC_HTTP_TOTAL_TIMEOUT ms; the library of these tests is
 * compiled with a 4000 ms total (native/sanitize/ReliabilityTests.cmake) to keep the test short.
 *
 * Exit 0 when miniwget returned within the total (plus a margin) while the server was still dripping. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "miniwget.h"
#include "loopback.h"

#define DRIP_SECONDS 20
#define TOTAL_MS 4000
#define MARGIN_MS 4000

static int listener = -1;
static volatile int dripping = 0;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void * serve(void * arg)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nX-Drip: ";
	char req[4096];
	size_t used = 0;
	int i;
	int c = lb_accept(listener, 10000);
	(void)arg;
	if(c < 0)
		return NULL;
	while(used < sizeof(req) - 1 && strstr(req, "\r\n\r\n") == NULL) {
		ssize_t n;
		req[used] = '\0';
		n = recv(c, req + used, sizeof(req) - 1 - used, 0);
		if(n <= 0)
			break;
		used += (size_t)n;
		req[used] = '\0';
	}
	send(c, head, sizeof(head) - 1, MSG_NOSIGNAL);
	dripping = 1;
	for(i = 0; i < DRIP_SECONDS; i++) {
		sleep(1);
		if(send(c, "a", 1, MSG_NOSIGNAL) != 1)
			break; /* the client has gone */
	}
	dripping = 0;
	close(c);
	return NULL;
}

int main(void)
{
	unsigned short port = 0;
	char url[64];
	pthread_t server;
	void * body;
	int size = 0;
	int status = 0;
	double start, elapsed;
	int still_dripping;

	listener = lb_listen(4, &port);
	if(listener < 0)
		return 1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%hu/rootDesc.xml", port);
	if(pthread_create(&server, NULL, serve, NULL) != 0) {
		perror("pthread_create");
		return 1;
	}
	printf("GET %s: the server drips a header line a byte a second for %d s\n", url, DRIP_SECONDS);
	fflush(stdout);
	start = now_ms();
	body = miniwget(url, &size, 0, &status);
	elapsed = now_ms() - start;
	still_dripping = dripping;
	pthread_join(server, NULL);
	close(listener);
	free(body);
	printf("miniwget returned after %.0f ms (total %d ms), size %d, server %s\n",
	       elapsed, TOTAL_MS, size, still_dripping ? "still dripping" : "done");
	if(elapsed > TOTAL_MS + MARGIN_MS || !still_dripping) {
		fprintf(stderr, "FAIL: miniwget waited for the server to stop; expected it to give up after %d ms\n", TOTAL_MS);
		return 1;
	}
	if(elapsed < TOTAL_MS - 100) {
		fprintf(stderr, "FAIL: miniwget gave up before its total (%d ms)\n", TOTAL_MS);
		return 1;
	}
	printf("ended by the total deadline\n");
	return 0;
}
