/* Prints the C layout of every struct the binding declares, for the layout test
 * (tests/MiniUpnp.Net.Tests/Interop/LayoutTests.cs), which compares it with the generated C# structs.
 * Output: "struct NAME SIZE" then "field NAME.FIELD OFFSET SIZE" lines. */
#include <stddef.h>
#include <stdio.h>
#include "miniupnpc.h"
#include "portlistingparse.h"
#include "upnpdev.h"
#include "igd_desc_parse.h"

#define STRUCT(s) printf("struct %s %zu\n", #s, sizeof(struct s))
#define FIELD(s, f) printf("field %s.%s %zu %zu\n", #s, #f, offsetof(struct s, f), sizeof(((struct s *)0)->f))

int main(void)
{
	STRUCT(UPNPDev);
	FIELD(UPNPDev, pNext); FIELD(UPNPDev, descURL); FIELD(UPNPDev, st); FIELD(UPNPDev, usn);
	FIELD(UPNPDev, scope_id);
	/* buffer[] is a flexible array member: only its offset exists in C. */
	printf("flexible UPNPDev.buffer %zu\n", offsetof(struct UPNPDev, buffer));

	STRUCT(UPNPUrls);
	FIELD(UPNPUrls, controlURL); FIELD(UPNPUrls, ipcondescURL); FIELD(UPNPUrls, controlURL_CIF);
	FIELD(UPNPUrls, controlURL_6FC); FIELD(UPNPUrls, rootdescURL);

	STRUCT(IGDdatas_service);
	FIELD(IGDdatas_service, controlurl); FIELD(IGDdatas_service, eventsuburl);
	FIELD(IGDdatas_service, scpdurl); FIELD(IGDdatas_service, servicetype);

	STRUCT(IGDdatas);
	FIELD(IGDdatas, cureltname); FIELD(IGDdatas, urlbase); FIELD(IGDdatas, presentationurl);
	FIELD(IGDdatas, level); FIELD(IGDdatas, CIF); FIELD(IGDdatas, first); FIELD(IGDdatas, second);
	FIELD(IGDdatas, IPv6FC); FIELD(IGDdatas, tmp);

	STRUCT(PortMapping);
	FIELD(PortMapping, l_next); FIELD(PortMapping, leaseTime); FIELD(PortMapping, externalPort);
	FIELD(PortMapping, internalPort); FIELD(PortMapping, remoteHost); FIELD(PortMapping, internalClient);
	FIELD(PortMapping, description); FIELD(PortMapping, protocol); FIELD(PortMapping, enabled);

	STRUCT(PortMappingParserData);
	FIELD(PortMappingParserData, l_head); FIELD(PortMappingParserData, curelt);
	return 0;
}
