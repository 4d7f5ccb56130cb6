/* Answers shorter than NAT-PMP's (reproducer of our libnatpmp patch ours-readnatpmpresponse-length).
 *
 * libnatpmp's readnatpmpresponse() never looks at how many bytes recvfrom() returned: the result code, the epoch,
 * the public address and a mapping's ports and lifetime are read from its 16-byte stack buffer whatever the
 * datagram's length, so what a short datagram lacks is read from stale stack bytes (for instance the previous
 * answer's). With the patch a datagram shorter than 8 bytes, or a success shorter than its opcode's answer (12 bytes
 * for the public address, 16 for a mapping), is ignored (NATPMP_TRYAGAIN) and the full answer that follows is read.
 * An 8-byte error answer (RFC 6886, 3.5) is read as before, with and without the patch.
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

/* A public-address request answered first by the first `shortlen` bytes of an answer, then by the full answer
 * (shortlen 12: the full answer alone, the baseline). */
static void case_short_public_address(struct nl_gateway * g, const char * name, size_t shortlen)
{
	unsigned char req[32], ans[16];
	natpmpresp_t resp;
	char detail[200] = "", addr[INET_ADDRSTRLEN] = "";
	int r1, r2, ok;
	nl_drain(g->fd);
	nl_drain(g->p.s);
	if(sendpublicaddressrequest(&g->p) != 2 || nl_request(g, req, sizeof(req)) != 2) {
		verdict(name, 0, "no public-address request");
		return;
	}
	nl_public_address_answer(ans, 2000, "198.51.100.9");
	if(shortlen < 12)
		nl_answer(g, ans, shortlen);
	nl_answer(g, ans, 12);
	r1 = shortlen < 12 ? nl_read(g, &resp) : NATPMP_TRYAGAIN;
	if(r1 != NATPMP_TRYAGAIN) {
		inet_ntop(AF_INET, &resp.pnu.publicaddress.addr, addr, sizeof(addr));
		snprintf(detail, sizeof(detail), "the %zu-byte datagram was read as an answer: returned %d (%s), result %u, "
		         "epoch %u, address %s", shortlen, r1, r1 < 0 ? strnatpmperr(r1) : "success", resp.resultcode,
		         (unsigned)resp.epoch, addr);
		verdict(name, 0, detail);
		return;
	}
	r2 = nl_read(g, &resp);
	inet_ntop(AF_INET, &resp.pnu.publicaddress.addr, addr, sizeof(addr));
	ok = r2 == 0 && resp.type == NATPMP_RESPTYPE_PUBLICADDRESS && resp.epoch == 2000 && strcmp(addr, "198.51.100.9") == 0;
	snprintf(detail, sizeof(detail), "ignored, then the full answer: returned %d, epoch %u, address %s", r2,
	         (unsigned)resp.epoch, addr);
	verdict(name, ok, detail);
}

/* A mapping answer without its lifetime (12 bytes), then the full one. */
static void case_short_mapping(struct nl_gateway * g)
{
	const char * name = "mapping-12-bytes";
	unsigned char req[32], ans[16];
	natpmpresp_t resp;
	char detail[200] = "";
	int r1, r2, ok;
	nl_drain(g->fd);
	nl_drain(g->p.s);
	if(sendnewportmappingrequest(&g->p, NATPMP_PROTOCOL_TCP, 7000, 7000, 7200) != 12
	   || nl_request(g, req, sizeof(req)) != 12) {
		verdict(name, 0, "no mapping request");
		return;
	}
	nl_mapping_answer(ans, NATPMP_PROTOCOL_TCP, 2001, 7000, 7001, 7200);
	nl_answer(g, ans, 12);
	nl_answer(g, ans, 16);
	r1 = nl_read(g, &resp);
	if(r1 != NATPMP_TRYAGAIN) {
		snprintf(detail, sizeof(detail), "the 12-byte mapping answer was read: returned %d, ports %u -> %u, "
		         "lifetime %u (stale bytes)", r1, resp.pnu.newportmapping.privateport,
		         resp.pnu.newportmapping.mappedpublicport, (unsigned)resp.pnu.newportmapping.lifetime);
		verdict(name, 0, detail);
		return;
	}
	r2 = nl_read(g, &resp);
	ok = r2 == 0 && resp.type == NATPMP_RESPTYPE_TCPPORTMAPPING && resp.pnu.newportmapping.privateport == 7000
	     && resp.pnu.newportmapping.mappedpublicport == 7001 && resp.pnu.newportmapping.lifetime == 7200;
	snprintf(detail, sizeof(detail), "ignored, then the full answer: returned %d, ports %u -> %u, lifetime %u", r2,
	         resp.pnu.newportmapping.privateport, resp.pnu.newportmapping.mappedpublicport,
	         (unsigned)resp.pnu.newportmapping.lifetime);
	verdict(name, ok, detail);
}

/* An 8-byte error answer is a whole answer: NATPMP_ERR_NETWORKFAILURE (result code 3), its epoch read. */
static void case_error_answer(struct nl_gateway * g)
{
	const char * name = "error-answer-8-bytes";
	unsigned char req[32], ans[16];
	natpmpresp_t resp;
	char detail[200] = "";
	int r, ok;
	nl_drain(g->fd);
	nl_drain(g->p.s);
	if(sendnewportmappingrequest(&g->p, NATPMP_PROTOCOL_UDP, 7100, 7100, 7200) != 12
	   || nl_request(g, req, sizeof(req)) != 12) {
		verdict(name, 0, "no mapping request");
		return;
	}
	nl_mapping_answer(ans, NATPMP_PROTOCOL_UDP, 2002, 7100, 0, 0);
	ans[3] = 3; /* Network Failure */
	nl_answer(g, ans, 8);
	r = nl_read(g, &resp);
	ok = r == NATPMP_ERR_NETWORKFAILURE && resp.resultcode == 3 && resp.epoch == 2002;
	snprintf(detail, sizeof(detail), "returned %d (%s), result %u, epoch %u", r, strnatpmperr(r), resp.resultcode,
	         (unsigned)resp.epoch);
	verdict(name, ok, detail);
}

int main(void)
{
	struct nl_gateway g;
	if(nl_open(&g) < 0)
		return 2;
	/* A full answer first, so that the stack holds a previous answer's bytes, as in a long-running client. */
	case_short_public_address(&g, "public-address-12-bytes-baseline", 12);
	case_short_public_address(&g, "public-address-2-bytes", 2);
	case_short_public_address(&g, "public-address-8-bytes", 8);
	case_short_mapping(&g);
	case_error_answer(&g);
	nl_close(&g);
	return failures == 0 ? 0 : 1;
}
