/* Prints the C layout of every struct the binding declares, for the layout test
 * (tests/MiniUpnp.Net.Tests/Interop/LayoutTests.cs), which compares it with the generated C# structs.
 * Output: "struct NAME SIZE" then "field NAME.FIELD OFFSET SIZE" lines. */
#include <stddef.h>
#include <stdio.h>
#include "miniupnpc.h"
#include "portlistingparse.h"
#include "upnpdev.h"
#include "igd_desc_parse.h"
#include "natpmp.h"

#define STRUCT(s) printf("struct %s %zu\n", #s, sizeof(struct s))
/* libnatpmp's structs are typedef'd untagged structs; a flattened union member is printed under the C# name
 * (pnu.newportmapping.lifetime as pnu_newportmapping_lifetime). */
#define TSTRUCT(t) printf("struct %s %zu\n", #t, sizeof(t))
#define TFIELD(t, f) printf("field %s.%s %zu %zu\n", #t, #f, offsetof(t, f), sizeof(((t *)0)->f))
#define TUFIELD(t, f, name) printf("field %s.%s %zu %zu\n", #t, name, offsetof(t, f), sizeof(((t *)0)->f))
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

	/* The C library's struct timeval (hand-written timevalStruct): its size differs between platforms. */
	STRUCT(timeval);
	FIELD(timeval, tv_sec); FIELD(timeval, tv_usec);

	TSTRUCT(natpmp_t);
	TFIELD(natpmp_t, s); TFIELD(natpmp_t, gateway); TFIELD(natpmp_t, has_pending_request);
	TFIELD(natpmp_t, pending_request); TFIELD(natpmp_t, pending_request_len); TFIELD(natpmp_t, try_number);
	TFIELD(natpmp_t, retry_time);

	TSTRUCT(natpmpresp_t);
	TFIELD(natpmpresp_t, type); TFIELD(natpmpresp_t, resultcode); TFIELD(natpmpresp_t, epoch);
	TUFIELD(natpmpresp_t, pnu.publicaddress.addr, "pnu_publicaddress_addr");
	TUFIELD(natpmpresp_t, pnu.newportmapping.privateport, "pnu_newportmapping_privateport");
	TUFIELD(natpmpresp_t, pnu.newportmapping.mappedpublicport, "pnu_newportmapping_mappedpublicport");
	TUFIELD(natpmpresp_t, pnu.newportmapping.lifetime, "pnu_newportmapping_lifetime");
	return 0;
}
