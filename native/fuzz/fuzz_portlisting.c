/* libFuzzer harness: the NewPortListing document of a GetListOfPortMappings reply (IGDv2) through
 * ParsePortListing(), then the list walked and freed, as UPNP_GetListOfPortMappings' callers do.
 * libFuzzer hands over a heap copy of exactly `size` bytes: no terminating NUL. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "portlistingparse.h"

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
	struct PortMappingParserData pdata;
	struct PortMapping * pm;
	volatile size_t total = 0;
	if(size > 1u << 20)
		return 0;
	memset(&pdata, 0, sizeof(pdata));
	ParsePortListing((const char *)data, (int)size, &pdata);
	for(pm = pdata.l_head; pm != NULL; pm = pm->l_next)
		total += strlen(pm->remoteHost) + strlen(pm->internalClient) + strlen(pm->description)
		         + strlen(pm->protocol) + pm->externalPort + pm->internalPort + pm->enabled;
	FreePortListing(&pdata);
	return 0;
}
