/* An answer of another type than the pending request's (reproducer of libnatpmp's upstream fix 6367fc3,
 * "checking response type - trigger eventual retry").
 *
 * A NAT-PMP client retries, so a late answer to an earlier request can arrive while another request is pending.
 * libnatpmp 20230423 takes the first answer that comes as the pending request's, whatever its type:
 *   mapping:        a mapping request is answered first with a public-address answer: readnatpmpresponseorretry()
 *                   returns 0 with type 0, and a caller reading the mapping finds the address's bytes as its ports;
 *   public-address: a public-address request is answered first with a late mapping answer (for the private port
 *                   of the previous request, which pending_request still holds): returns 0 with type 1.
 * With 6367fc3 the other type's answer is ignored (NATPMP_TRYAGAIN, no new request sent) and the right one follows.
 *
 * Exit 0 when every case passes. Talks only to a UDP socket of its own on 127.0.0.1 (natpmp_loopback.h). */
#include <stdio.h>
#include <stdlib.h>

#include "natpmp_loopback.h"

static int failures = 0;

static void verdict(const char * name, int ok, const char * detail)
{
	printf("%s: %s%s%s\n", name, ok ? "PASS" : "FAIL", detail[0] ? " - " : "", detail);
	if(!ok)
		failures++;
}

static void case_mapping_gets_public_address_answer(struct nl_gateway * g)
{
	const char * name = "mapping-then-public-address-answer";
	unsigned char req[32], ans[16];
	natpmpresp_t resp;
	char detail[200] = "";
	int r1, r2, ok;
	nl_drain(g->fd);
	nl_drain(g->p.s);
	if(sendnewportmappingrequest(&g->p, NATPMP_PROTOCOL_UDP, 5000, 6000, 3600) != 12
	   || nl_request(g, req, sizeof(req)) != 12) {
		verdict(name, 0, "no mapping request");
		return;
	}
	nl_answer(g, ans, nl_public_address_answer(ans, 1000, "203.0.113.7"));
	nl_answer(g, ans, nl_mapping_answer(ans, NATPMP_PROTOCOL_UDP, 1000, 5000, 6001, 3600));
	r1 = nl_read(g, &resp);
	if(r1 != NATPMP_TRYAGAIN) {
		snprintf(detail, sizeof(detail), "the public-address answer was taken as the mapping's: returned %d, type %u, "
		         "ports %u -> %u, lifetime %u", r1, resp.type, resp.pnu.newportmapping.privateport,
		         resp.pnu.newportmapping.mappedpublicport, (unsigned)resp.pnu.newportmapping.lifetime);
		verdict(name, 0, detail);
		return;
	}
	r2 = nl_read(g, &resp);
	ok = r2 == 0 && resp.type == NATPMP_RESPTYPE_UDPPORTMAPPING && resp.pnu.newportmapping.privateport == 5000
	     && resp.pnu.newportmapping.mappedpublicport == 6001 && resp.pnu.newportmapping.lifetime == 3600;
	snprintf(detail, sizeof(detail), "ignored, then the mapping: returned %d, type %u, ports %u -> %u, lifetime %u",
	         r2, resp.type, resp.pnu.newportmapping.privateport, resp.pnu.newportmapping.mappedpublicport,
	         (unsigned)resp.pnu.newportmapping.lifetime);
	verdict(name, ok, detail);
}

static void case_public_address_gets_mapping_answer(struct nl_gateway * g)
{
	const char * name = "public-address-then-late-mapping-answer";
	unsigned char req[32], ans[16];
	natpmpresp_t resp;
	char detail[200] = "", addr[INET_ADDRSTRLEN] = "";
	int r1, r2, ok;
	nl_drain(g->fd);
	nl_drain(g->p.s);
	/* The previous request mapped private port 5000: pending_request still holds that port after this one. */
	if(sendnewportmappingrequest(&g->p, NATPMP_PROTOCOL_TCP, 5000, 6000, 3600) != 12
	   || nl_request(g, req, sizeof(req)) != 12) {
		verdict(name, 0, "no mapping request");
		return;
	}
	nl_answer(g, ans, nl_mapping_answer(ans, NATPMP_PROTOCOL_TCP, 1001, 5000, 6002, 3600));
	if(nl_read(g, &resp) != 0) {
		verdict(name, 0, "the first mapping was not answered");
		return;
	}
	if(sendpublicaddressrequest(&g->p) != 2 || nl_request(g, req, sizeof(req)) != 2) {
		verdict(name, 0, "no public-address request");
		return;
	}
	/* A retry's duplicate answer to the mapping, late, then the public address. */
	nl_answer(g, ans, nl_mapping_answer(ans, NATPMP_PROTOCOL_TCP, 1002, 5000, 6002, 3600));
	nl_answer(g, ans, nl_public_address_answer(ans, 1002, "203.0.113.7"));
	r1 = nl_read(g, &resp);
	if(r1 != NATPMP_TRYAGAIN) {
		inet_ntop(AF_INET, &resp.pnu.publicaddress.addr, addr, sizeof(addr));
		snprintf(detail, sizeof(detail), "the late mapping answer was taken as the public address: returned %d, "
		         "type %u, address %s", r1, resp.type, addr);
		verdict(name, 0, detail);
		return;
	}
	r2 = nl_read(g, &resp);
	inet_ntop(AF_INET, &resp.pnu.publicaddress.addr, addr, sizeof(addr));
	ok = r2 == 0 && resp.type == NATPMP_RESPTYPE_PUBLICADDRESS && strcmp(addr, "203.0.113.7") == 0;
	snprintf(detail, sizeof(detail), "ignored, then the public address: returned %d, type %u, address %s", r2,
	         resp.type, addr);
	verdict(name, ok, detail);
}

int main(void)
{
	struct nl_gateway g;
	if(nl_open(&g) < 0)
		return 2;
	case_mapping_gets_public_address_answer(&g);
	case_public_address_gets_mapping_answer(&g);
	nl_close(&g);
	return failures == 0 ? 0 : 1;
}
