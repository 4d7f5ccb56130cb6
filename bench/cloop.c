/* The benchmark's C client: plain loops over the same native miniupnpc the binding loads
 * (artifacts/native/<rid>/libminiupnpc.so, built by our CMake), the floor the other clients are compared with.
 *
 *   cloop cold PORT            discover (upnpDiscover, 1000 ms: miniupnpc's minimum) + UPNP_GetValidIGD + AddPortMapping
 *   cloop warm URL PORT        UPNP_GetIGDFromUrl + AddPortMapping
 *   cloop serve                commands on stdin, one answer line each (see serve() below)
 *
 * Every answer is one JSON line on stdout. Timings are CLOCK_MONOTONIC, taken from the start of main(): what a
 * user waits for in a fresh process. What a figure adds (a mapping) is removed after the clock stops. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "miniupnpc.h"
#include "upnpcommands.h"
#include "upnperrors.h"
#include "portlistingparse.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static double t_start;
static struct UPNPUrls urls;
static struct IGDdatas data;
static char lanaddr[64];
static int have_igd = 0;

static void fail(const char *what, int r)
{
	const char *text = strupnperror(r);
	printf("{\"error\": \"%s: %d %s\"}\n", what, r, text ? text : "");
	fflush(stdout);
}

static int add_mapping(int port, int iport, const char *lease)
{
	char ep[8], ip[8];
	snprintf(ep, sizeof ep, "%d", port);
	snprintf(ip, sizeof ip, "%d", iport);
	return UPNP_AddPortMapping(urls.controlURL, data.first.servicetype, ep, ip, lanaddr, "bench", "TCP", NULL, lease);
}

static int delete_mapping(int port)
{
	char ep[8];
	snprintf(ep, sizeof ep, "%d", port);
	return UPNP_DeletePortMapping(urls.controlURL, data.first.servicetype, ep, "TCP", NULL);
}

static int open_url(const char *url)
{
	if (have_igd) {
		FreeUPNPUrls(&urls);
		have_igd = 0;
	}
	if (!UPNP_GetIGDFromUrl(url, &urls, &data, lanaddr, sizeof lanaddr))
		return 0;
	have_igd = 1;
	return 1;
}

static int cold(int port)
{
	int error = 0, r;
	char wanaddr[64];
	struct UPNPDev *devlist = upnpDiscover(1000, NULL, NULL, UPNP_LOCAL_PORT_ANY, 0, 2, &error);
	if (!devlist) {
		fail("upnpDiscover", error);
		return 1;
	}
	r = UPNP_GetValidIGD(devlist, &urls, &data, lanaddr, sizeof lanaddr, wanaddr, sizeof wanaddr);
	freeUPNPDevlist(devlist);
	if (r <= 0) {
		fail("UPNP_GetValidIGD", r);
		return 1;
	}
	have_igd = 1;
	r = add_mapping(port, port, "3600");
	double ms = now_ms() - t_start;
	if (r) {
		fail("AddPortMapping", r);
		return 1;
	}
	delete_mapping(port);
	printf("{\"ms\": %.3f}\n", ms);
	return 0;
}

static int warm(const char *url, int port)
{
	if (!open_url(url)) {
		fail("UPNP_GetIGDFromUrl", 0);
		return 1;
	}
	int r = add_mapping(port, port, "3600");
	double ms = now_ms() - t_start;
	if (r) {
		fail("AddPortMapping", r);
		return 1;
	}
	delete_mapping(port);
	printf("{\"ms\": %.3f}\n", ms);
	return 0;
}

/* serve: "open URL" | "get N PORT" | "adddel N PORT" | "list bulk|generic" | "fill BASE N" | "clear BASE N" | "quit" */
static int serve(void)
{
	char line[1024], arg[1024];
	int n, port, i, r;
	while (fgets(line, sizeof line, stdin)) {
		double t0 = now_ms();
		if (sscanf(line, "open %1023s", arg) == 1) {
			if (open_url(arg))
				printf("{\"ms\": %.3f}\n", now_ms() - t0);
			else
				fail("open", 0);
		} else if (sscanf(line, "get %d %d", &n, &port) == 2) {
			char ep[8], client[64], iport[8], desc[80], enabled[8], lease[16];
			snprintf(ep, sizeof ep, "%d", port);
			for (i = 0; i < n; i++)
				UPNP_GetSpecificPortMappingEntry(urls.controlURL, data.first.servicetype, ep, "TCP", NULL,
				                                 client, iport, desc, enabled, lease);
			printf("{\"ms\": %.3f, \"ops\": %d}\n", now_ms() - t0, n);
		} else if (sscanf(line, "adddel %d %d", &n, &port) == 2) {
			for (i = 0, r = 0; i < n && !r; i++) {
				r = add_mapping(port, port, "3600");
				if (!r)
					r = delete_mapping(port);
			}
			if (r)
				fail("adddel", r);
			else
				printf("{\"ms\": %.3f, \"ops\": %d}\n", now_ms() - t0, n);
		} else if (sscanf(line, "list %1023s", arg) == 1) {
			int count = 0;
			if (strcmp(arg, "bulk") == 0) {
				const char *protos[] = { "TCP", "UDP" };
				for (i = 0; i < 2; i++) {
					struct PortMappingParserData pdata;
					struct PortMapping *pm;
					memset(&pdata, 0, sizeof pdata);
					r = UPNP_GetListOfPortMappings(urls.controlURL, data.first.servicetype, "1", "65535", protos[i], "1000", &pdata);
					if (r == 0)
						for (pm = pdata.l_head; pm; pm = pm->l_next)
							count++;
					FreePortListing(&pdata);
				}
			} else {
				char idx[8], ext[8], client[64], iport[8], proto[8], desc[80], enabled[8], rhost[64], dur[16];
				for (i = 0; i < 4096; i++) {
					snprintf(idx, sizeof idx, "%d", i);
					if (UPNP_GetGenericPortMappingEntry(urls.controlURL, data.first.servicetype, idx, ext, client, iport,
					                                    proto, desc, enabled, rhost, dur))
						break;
					count++;
				}
			}
			printf("{\"ms\": %.3f, \"count\": %d}\n", now_ms() - t0, count);
		} else if (sscanf(line, "fill %d %d", &port, &n) == 2) {
			for (i = 0, r = 0; i < n && !r; i++)
				r = add_mapping(port + i, port + i, "3600");
			if (r)
				fail("fill", r);
			else
				printf("{\"ms\": %.3f, \"count\": %d}\n", now_ms() - t0, n);
		} else if (sscanf(line, "clear %d %d", &port, &n) == 2) {
			char first[8], last[8];
			snprintf(first, sizeof first, "%d", port);
			snprintf(last, sizeof last, "%d", port + n - 1);
			r = UPNP_DeletePortMappingRange(urls.controlURL, data.first.servicetype, first, last, "TCP", "1");
			printf("{\"ms\": %.3f, \"code\": %d}\n", now_ms() - t0, r);
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
	int status;
	t_start = now_ms();
	if (argc == 3 && strcmp(argv[1], "cold") == 0)
		status = cold(atoi(argv[2]));
	else if (argc == 4 && strcmp(argv[1], "warm") == 0)
		status = warm(argv[2], atoi(argv[3]));
	else if (argc == 2 && strcmp(argv[1], "serve") == 0)
		status = serve();
	else {
		fprintf(stderr, "usage: cloop cold PORT | warm URL PORT | serve\n");
		return 2;
	}
	if (have_igd)
		FreeUPNPUrls(&urls);
	return status;
}
