/* miniwget from a process holding more than FD_SETSIZE (1024) descriptors (reproducer of patch c157807).
 *
 * miniupnpc 2.3.3 waits for a connect() that did not complete at once (interrupted by a signal, or past the
 * 3-second SO_SNDTIMEO) with select() and FD_SET(s, &wset), where s is the new socket. In a process with
 * more than 1024 open descriptors s is >= FD_SETSIZE: FD_SET writes past the fd_set on the stack and select()
 * reads past it. With -fsanitize=address that is a stack-buffer-overflow WRITE in connecthostport; with
 * -D_FORTIFY_SOURCE it is "*** bit out of range 0 - FD_SETSIZE on fd_set ***"; in the shipped -O3 library,
 * silent stack corruption. c157807 waits with poll(), which has no such limit.
 *
 * How the test reaches that wait on loopback, in about a second: the listener's accept queue (backlog 0) is
 * filled by one connection, so the kernel drops miniwget's SYN and its connect() blocks; once the test sees the
 * thread blocked in connect() on a descriptor >= 1024 (/proc/self/task/TID/syscall), it interrupts it with a
 * signal (connect returns EINTR: miniupnpc's wait loop), then empties the accept queue. The SYN is retransmitted
 * after a second, the connection completes, and the request is served.
 *
 * Exit 0 when miniwget fetched the document; 77 (skipped) when RLIMIT_NOFILE cannot be raised above 1100. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "miniwget.h"
#include "loopback.h"

#define TARGET_FD 1100

static const char body[] = "<?xml version=\"1.0\"?><root><device>fd_setsize</device></root>";

struct client {
	char url[64];
	volatile pid_t tid;
	void * result;
	int size;
	int status;
};

static void on_signal(int sig)
{
	(void)sig;
}

static void * run_client(void * arg)
{
	struct client * c = arg;
	c->tid = (pid_t)syscall(SYS_gettid);
	c->result = miniwget(c->url, &c->size, 0, &c->status);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec t;
	t.tv_sec = ms / 1000;
	t.tv_nsec = (ms % 1000) * 1000000L;
	while(nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* The system call thread tid is blocked in (-1 when running or unknown), its first argument in *arg0. */
static long current_syscall(pid_t tid, long * arg0)
{
	char path[64];
	char line[256];
	FILE * f;
	long nr = -1;
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	f = fopen(path, "r");
	if(f == NULL)
		return -1;
	if(fgets(line, sizeof(line), f) != NULL)
		if(sscanf(line, "%ld 0x%lx", &nr, arg0) != 2)
			nr = -1;
	fclose(f);
	return nr;
}

/* The calls a connect() wait loop blocks in: poll() (c157807) or select() (2.3.3), as the C library issues them. */
static int is_wait_syscall(long nr)
{
	return 0
#ifdef SYS_poll
		|| nr == SYS_poll
#endif
#ifdef SYS_ppoll
		|| nr == SYS_ppoll
#endif
#ifdef SYS_select
		|| nr == SYS_select
#endif
#ifdef SYS_pselect6
		|| nr == SYS_pselect6
#endif
		;
}

int main(void)
{
	struct rlimit rl;
	struct sigaction sa;
	struct client c;
	unsigned short port = 0;
	pthread_t th;
	int listener, filler, devnull, fd, i, accepted;
	long sockfd = -1, arg0 = -1, nr = -1;
	char response[512];
	int response_len;

	/* 1. room for more than FD_SETSIZE descriptors */
	if(getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1;
	if(rl.rlim_cur < TARGET_FD + 100) {
		rl.rlim_cur = (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 4096) ? 4096 : rl.rlim_max;
		if(rl.rlim_cur < TARGET_FD + 100 || setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			printf("SKIP: RLIMIT_NOFILE cannot be raised above %d (hard limit %lu)\n", TARGET_FD + 100,
			       (unsigned long)rl.rlim_max);
			return 77;
		}
	}

	/* 2. a listener whose accept queue one connection fills */
	listener = lb_listen(0, &port);
	if(listener < 0)
		return 1;
	filler = socket(AF_INET, SOCK_STREAM, 0);
	{
		struct sockaddr_in a;
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = htons(port);
		if(filler < 0 || connect(filler, (struct sockaddr *)&a, sizeof(a)) != 0) {
			perror("filler connect");
			return 1;
		}
	}

	/* 3. every descriptor below TARGET_FD in use: miniwget's socket will be numbered above it */
	devnull = open("/dev/null", O_RDONLY);
	for(i = 0, fd = devnull; fd >= 0 && fd < TARGET_FD && i < TARGET_FD + 10; i++)
		fd = dup(devnull);
	if(fd < TARGET_FD) {
		perror("dup");
		return 1;
	}
	printf("descriptors open up to %d (FD_SETSIZE is %d)\n", fd, FD_SETSIZE);

	/* 4. a signal that interrupts connect() (no SA_RESTART) */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	sigaction(SIGUSR1, &sa, NULL);

	memset(&c, 0, sizeof(c));
	snprintf(c.url, sizeof(c.url), "http://127.0.0.1:%hu/rootDesc.xml", port);
	if(pthread_create(&th, NULL, run_client, &c) != 0) {
		perror("pthread_create");
		return 1;
	}

	/* 5. wait (bounded) for the client to block in connect(), then interrupt it */
	for(i = 0; i < 300 && sockfd < 0; i++) {
		sleep_ms(10);
		if(c.tid != 0 && current_syscall(c.tid, &arg0) == SYS_connect)
			sockfd = arg0;
	}
	if(sockfd < 0) {
		fprintf(stderr, "the client never blocked in connect(); cannot reach the wait loop\n");
		return 1;
	}
	printf("miniwget is blocked in connect() on descriptor %ld; interrupting it\n", sockfd);
	fflush(stdout);
	if(sockfd < FD_SETSIZE) {
		fprintf(stderr, "descriptor %ld is below FD_SETSIZE: the test would prove nothing\n", sockfd);
		return 1;
	}
	pthread_kill(th, SIGUSR1);
	/* connect() returns EINTR and miniupnpc waits for the connection: poll() when patched; select() in 2.3.3,
	 * after an FD_SET that a sanitizer or FORTIFY stops right there */
	for(i = 0; i < 200 && !is_wait_syscall(nr); i++) {
		sleep_ms(10);
		nr = current_syscall(c.tid, &arg0);
	}
	if(!is_wait_syscall(nr)) {
		fprintf(stderr, "the client did not reach the connect() wait loop (system call %ld)\n", nr);
		return 1;
	}
	printf("connect() interrupted; miniwget waits for the connection in system call %ld\n", nr);
	fflush(stdout);

	/* 6. empty the accept queue, then serve miniwget's request */
	accepted = lb_accept(listener, 2000);
	if(accepted >= 0)
		close(accepted);
	close(filler);
	response_len = snprintf(response, sizeof(response),
	                        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n"
	                        "Connection: close\r\n\r\n%s", (int)strlen(body), body);
	lb_serve_one(listener, response, (size_t)response_len, 10000);
	pthread_join(th, NULL);
	close(listener);

	printf("miniwget: status %d, %d bytes\n", c.status, c.size);
	if(c.result == NULL || c.status != 200 || c.size != (int)strlen(body)
	   || memcmp(c.result, body, strlen(body)) != 0) {
		fprintf(stderr, "expected the document\n");
		free(c.result);
		return 1;
	}
	free(c.result);
	printf("fetched the document with a socket numbered %ld\n", sockfd);
	return 0;
}
