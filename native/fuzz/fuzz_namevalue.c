/* libFuzzer harness: a SOAP reply body through ParseNameValue() (upnpreplyparse.c; internal to the library,
 * reached through the static library), then the look-ups every UPNP_* command does on it, then the clean-up.
 * libFuzzer hands over a heap copy of exactly `size` bytes, as miniwget does: no terminating NUL. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "upnpreplyparse.h"

static const char * const names[] = {
	"NewExternalIPAddress", "NewConnectionStatus", "NewLastConnectionError", "NewUptime",
	"NewExternalPort", "NewInternalPort", "NewInternalClient", "NewProtocol", "NewEnabled",
	"NewPortMappingDescription", "NewLeaseDuration", "NewRemoteHost", "NewReservedPort",
	"errorCode", "errorDescription", "NewPortListing", "OutboundPinholeTimeout", "UniqueID",
};

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
	struct NameValueParserData pdata;
	volatile size_t total = 0;
	size_t i;
	if(size > 1u << 20)
		return 0;
	memset(&pdata, 0, sizeof(pdata));
	ParseNameValue((const char *)data, (int)size, &pdata);
	for(i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char * v = GetValueFromNameValueList(&pdata, names[i]);
		if(v != NULL)
			total += strlen(v);
	}
	if(pdata.portListing != NULL && pdata.portListingLength > 0)
		total += (unsigned char)pdata.portListing[pdata.portListingLength - 1];
	ClearNameValueList(&pdata);
	return 0;
}
