/* Smoke test of a built libnatpmp shared library, run on its target or under an emulator (build/cross.sh smoke RID):
 * loads the library file named on the command line at run time (dlopen / LoadLibrary, the very file the runtime
 * packages ship, no import library), then
 *   - resolves the 7 functions natpmp.h marks NATPMP_LIBSPEC,
 *   - strnatpmperr gives libnatpmp's texts (so the library was built with ENABLE_STRNATPMPERR),
 *   - the argument checks answer NATPMP_ERR_INVALIDARGS,
 *   - initnatpmp with a forced gateway (127.0.0.1: no default-gateway lookup), a public-address request sent to
 *     it (2 bytes), its retry timeout (at most 250 ms away), closenatpmp. Nothing is read: no answer is expected.
 * Prints one "natpmp smoke: PASS ..." or "natpmp smoke: FAIL ..." line and exits 0 or 1 (2 for bad usage).
 *
 *   natpmp_smoke <library>
 */
#include <stdio.h>
#include <string.h>
#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>
#else
#include <dlfcn.h>
#endif

/* Only the types are used from the header; the functions are resolved at run time, so no dllimport. */
#define NATPMP_STATICLIB
#include "natpmp.h"

typedef int (*initnatpmp_fn)(natpmp_t *p, int forcegw, in_addr_t forcedgw);
typedef int (*closenatpmp_fn)(natpmp_t *p);
typedef int (*sendpublicaddressrequest_fn)(natpmp_t *p);
typedef int (*sendnewportmappingrequest_fn)(natpmp_t *p, int protocol, uint16_t privateport, uint16_t publicport,
                                            uint32_t lifetime);
typedef int (*getnatpmprequesttimeout_fn)(natpmp_t *p, struct timeval *timeout);
typedef int (*readnatpmpresponseorretry_fn)(natpmp_t *p, natpmpresp_t *response);
typedef const char *(*strnatpmperr_fn)(int r);

static void *library;

static int open_library(const char *path)
{
#ifdef _WIN32
	char buf[MAX_PATH];
	size_t i;
	if (strlen(path) >= sizeof(buf))
		return 0;
	for (i = 0; path[i]; i++)
		buf[i] = path[i] == '/' ? '\\' : path[i];
	buf[i] = '\0';
	library = (void *)LoadLibraryExA(buf, NULL, LOAD_WITH_ALTERED_SEARCH_PATH);
	if (!library)
		fprintf(stderr, "natpmp smoke: LoadLibrary(%s) failed: error %lu\n", buf, (unsigned long)GetLastError());
#else
	library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!library)
		fprintf(stderr, "natpmp smoke: dlopen(%s) failed: %s\n", path, dlerror());
#endif
	return library != NULL;
}

static void *symbol(const char *name)
{
	void *p;
#ifdef _WIN32
	FARPROC f = GetProcAddress((HMODULE)library, name);
	memcpy(&p, &f, sizeof(p));
#else
	p = dlsym(library, name);
#endif
	if (!p)
		fprintf(stderr, "natpmp smoke: %s is not exported\n", name);
	return p;
}

#define RESOLVE(name) name##_fn name; { void *s_ = symbol(#name); memcpy(&name, &s_, sizeof(name)); if (!s_) missing++; }

int main(int argc, char **argv)
{
	int missing = 0, r;
	natpmp_t p;
	natpmpresp_t resp;
	struct timeval tv;
	long wait_us;
	in_addr_t loopback;
	const unsigned char loopback_bytes[4] = { 127, 0, 0, 1 }; /* network order */
	const char *text;
#ifdef _WIN32
	WSADATA wsa;
#endif

	if (argc != 2) {
		fprintf(stderr, "usage: %s <library>\n", argv[0]);
		return 2;
	}
	if (!open_library(argv[1])) {
		printf("natpmp smoke: FAIL cannot load %s\n", argv[1]);
		return 1;
	}
	{
		RESOLVE(initnatpmp)
		RESOLVE(closenatpmp)
		RESOLVE(sendpublicaddressrequest)
		RESOLVE(sendnewportmappingrequest)
		RESOLVE(getnatpmprequesttimeout)
		RESOLVE(readnatpmpresponseorretry)
		RESOLVE(strnatpmperr)
		if (missing) {
			printf("natpmp smoke: FAIL %d of the 7 natpmp.h functions are not exported by %s\n", missing, argv[1]);
			return 1;
		}

		text = strnatpmperr(NATPMP_ERR_NOGATEWAYSUPPORT);
		if (!text || strcmp(text, "the gateway does not support nat-pmp") != 0) {
			printf("natpmp smoke: FAIL strnatpmperr(%d) = \"%s\"\n", NATPMP_ERR_NOGATEWAYSUPPORT, text ? text : "(null)");
			return 1;
		}
		if (initnatpmp(NULL, 0, 0) != NATPMP_ERR_INVALIDARGS || closenatpmp(NULL) != NATPMP_ERR_INVALIDARGS
		    || sendpublicaddressrequest(NULL) != NATPMP_ERR_INVALIDARGS
		    || sendnewportmappingrequest(NULL, NATPMP_PROTOCOL_TCP, 1, 1, 1) != NATPMP_ERR_INVALIDARGS
		    || getnatpmprequesttimeout(NULL, &tv) != NATPMP_ERR_INVALIDARGS
		    || readnatpmpresponseorretry(NULL, &resp) != NATPMP_ERR_INVALIDARGS) {
			printf("natpmp smoke: FAIL a NULL argument was not answered NATPMP_ERR_INVALIDARGS (%s)\n",
			       strnatpmperr(NATPMP_ERR_INVALIDARGS));
			return 1;
		}

#ifdef _WIN32
		if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
			printf("natpmp smoke: FAIL WSAStartup\n");
			return 1;
		}
#endif
		memcpy(&loopback, loopback_bytes, sizeof(loopback));
		r = initnatpmp(&p, 1, loopback);
		if (r != 0) {
			printf("natpmp smoke: FAIL initnatpmp(127.0.0.1) = %d (%s)\n", r, strnatpmperr(r));
			return 1;
		}
		r = sendpublicaddressrequest(&p);
		if (r != 2) {
			printf("natpmp smoke: FAIL sendpublicaddressrequest = %d (%s), expected 2 bytes sent\n", r, strnatpmperr(r));
			return 1;
		}
		r = getnatpmprequesttimeout(&p, &tv);
		wait_us = (long)tv.tv_sec * 1000000L + (long)tv.tv_usec;
		if (r != 0 || wait_us > 250000L) {
			printf("natpmp smoke: FAIL getnatpmprequesttimeout = %d, %ld us (at most 250000 expected)\n", r, wait_us);
			return 1;
		}
		r = closenatpmp(&p);
		if (r != 0) {
			printf("natpmp smoke: FAIL closenatpmp = %d (%s)\n", r, strnatpmperr(r));
			return 1;
		}
	}
	printf("natpmp smoke: PASS %s: 7 functions resolved, strnatpmperr, argument checks, "
	       "initnatpmp/sendpublicaddressrequest/getnatpmprequesttimeout/closenatpmp on 127.0.0.1\n", argv[1]);
	return 0;
}
