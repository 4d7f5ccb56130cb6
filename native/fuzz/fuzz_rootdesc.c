/* libFuzzer harness: a router's root description (what miniwget fetched from the LOCATION of an SSDP answer)
 * through parserootdesc(), then GetUPNPUrls(), which builds the control URLs from the description's URLBase,
 * controlURL and SCPDURL (no network: it only builds strings), as UPNP_GetValidIGD and UPNP_GetIGDFromUrl do.
 * libFuzzer hands over a heap copy of exactly `size` bytes, as miniwget does: no terminating NUL. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "miniupnpc.h"
#include "igd_desc_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
	struct IGDdatas igd;
	struct UPNPUrls urls;
	if(size > 1u << 20)
		return 0;
	memset(&igd, 0, sizeof(igd));
	parserootdesc((const char *)data, (int)size, &igd);
	memset(&urls, 0, sizeof(urls));
	GetUPNPUrls(&urls, &igd, "http://192.168.1.1:5000/rootDesc.xml", 0);
	FreeUPNPUrls(&urls);
	return 0;
}
