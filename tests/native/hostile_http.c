/* A hostile router's HTTP reply through miniwget, against a loopback server (reproducer of patch 00edf18).
 *
 * The reply's last header is an empty "Content-Length:" and the body is digits. miniupnpc 2.3.3 calls
 * atoi() on the header value; atoi skips the CR LF CR LF and runs on through the body, past the end of the
 * 2048-byte header buffer, which is not NUL-terminated: AddressSanitizer reports a heap-buffer-overflow
 * READ (in strtol, called from getHTTPResponse). With 00edf18 the value is parsed within its line only.
 *
 * Built with -fsanitize=address,undefined against upstream's sources (native/sanitize/ReliabilityTests.cmake).
 * Exit 0 when miniwget returned without a memory error. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "miniwget.h"
#include "loopback.h"

#define REPLY_SIZE 4096

static int listener = -1;
static char reply[REPLY_SIZE];

static void * serve(void * arg)
{
	(void)arg;
	lb_serve_one(listener, reply, sizeof(reply), 10000);
	return NULL;
}

int main(void)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length:\r\n\r\n";
	unsigned short port = 0;
	char url[64];
	pthread_t server;
	void * body;
	int size = 0;
	int status = 0;

	memcpy(reply, head, sizeof(head) - 1);
	memset(reply + sizeof(head) - 1, '7', sizeof(reply) - (sizeof(head) - 1));

	listener = lb_listen(4, &port);
	if(listener < 0)
		return 1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%hu/rootDesc.xml", port);
	if(pthread_create(&server, NULL, serve, NULL) != 0) {
		perror("pthread_create");
		return 1;
	}
	printf("GET %s: the reply ends its headers with an empty Content-Length, then %d digits\n",
	       url, (int)(sizeof(reply) - (sizeof(head) - 1)));
	fflush(stdout);
	body = miniwget(url, &size, 0, &status);
	pthread_join(server, NULL);
	close(listener);
	printf("miniwget returned %s, size %d, HTTP status %d\n", body ? "a body" : "NULL", size, status);
	free(body);
	if(status != 200) {
		fprintf(stderr, "expected the status line's 200\n");
		return 1;
	}
	printf("no memory error\n");
	return 0;
}
