/* GetUPNPUrls for a link-local IPv6 IGD with a scope id that names no interface (reproducer of patch 605d33f).
 *
 * A router whose description gives a link-local base URL (http://[fe80::...]) makes miniupnpc insert
 * "%25<interface name>" into every URL it builds. In 2.3.3, when if_indextoname() fails (the interface went
 * away between discovery and GetUPNPUrls, or the caller passes a scope id of no interface), the buffer is sized
 * without the insertion but "%25" and the uninitialised interface name are still inserted: the final memcpy()
 * then stops short of the terminating NUL (an empty stale name: every URL comes back unterminated, and
 * AddressSanitizer reports a heap-buffer-overflow READ at its first use) or is given a negative length
 * (a stale name of 10 bytes or more: a wild heap write). With 605d33f the URL is built without a scope.
 * No network traffic: GetUPNPUrls only builds strings.
 *
 * Built with -fsanitize=address,undefined against upstream's sources (native/sanitize/ReliabilityTests.cmake). */
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "miniupnpc.h"

int main(void)
{
	struct IGDdatas data;
	struct UPNPUrls urls;
	/* An interface index that does not exist: if_indextoname() fails for it. */
	unsigned int scope_id = 0x7ffffff0u;
	char name[IF_NAMESIZE];

	if(if_indextoname(scope_id, name) != NULL) {
		printf("interface index %u exists (%s) on this machine; nothing to test\n", scope_id, name);
		return 77;
	}
	memset(&data, 0, sizeof(data));
	memset(&urls, 0, sizeof(urls));
	strcpy(data.urlbase, "http://[fe80::1]:5000");
	strcpy(data.first.controlurl, "/ctl/IPConn");
	strcpy(data.first.scpdurl, "/WANIPCn.xml");
	strcpy(data.CIF.controlurl, "/ctl/CmnIfCfg");
	strcpy(data.IPv6FC.controlurl, "/ctl/IP6FCtl");
	printf("GetUPNPUrls(base %s, scope id %u, which names no interface)\n", data.urlbase, scope_id);
	fflush(stdout);
	GetUPNPUrls(&urls, &data, "http://[fe80::1]:5000/rootDesc.xml", scope_id);
	/* strcmp() reads the URL up to its NUL: past the allocation when it has none. */
	if(urls.controlURL == NULL || strcmp(urls.controlURL, "http://[fe80::1]:5000/ctl/IPConn") != 0) {
		/* at most as many bytes as the right URL has (the wrong one is shorter than its allocation says) */
		fprintf(stderr, "controlURL = %.*s...\nexpected http://[fe80::1]:5000/ctl/IPConn\n",
		        (int)strlen("http://[fe80::1]:5000/ctl/IPConn"), urls.controlURL ? urls.controlURL : "(null)");
		FreeUPNPUrls(&urls);
		return 1;
	}
	printf("controlURL = %s\n", urls.controlURL);
	FreeUPNPUrls(&urls);
	printf("no memory error\n");
	return 0;
}
