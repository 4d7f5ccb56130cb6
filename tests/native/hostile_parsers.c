/* Hostile-router inputs for miniupnpc's XML parsers, each in a heap buffer of exactly its own size (as miniwget
 * hands a reply to the parsers: no terminating NUL), so that AddressSanitizer sees a read of even one byte past it.
 *
 *   hostile_parsers --case NAME     one built-in case (the reproducer of one patch in native/patches/)
 *   hostile_parsers --list          the built-in case names
 *   hostile_parsers FILE...         every file through every parser (upstream's testdesc/, testreplyparse/, a corpus)
 *
 * Built with -fsanitize=address,undefined against upstream's sources (native/sanitize/ReliabilityTests.cmake).
 * Exit 0 when every parse finished; a sanitizer report aborts with a non-zero status. Without the patch a case
 * names, ASan reports a heap-buffer-overflow READ in minixml.c; with it, the case is clean. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "miniupnpc.h"
#include "portlistingparse.h"
#include "upnpreplyparse.h"
#include "minixml.h"

struct hostile_case {
	const char * name;
	const char * patch;
	const char * why;
	const char * xml;
};

static const struct hostile_case cases[] = {
	{ "attribute-eq", "3cfb4fb",
	  "an element whose last attribute ends at '=': parseatt reads the byte after the buffer",
	  "<element attribute=" },
	{ "namespace-colon", "64ef08a",
	  "a reply ending in a namespace prefix and its colon: parseelt reads past the buffer (minixml.c:133)",
	  "<?xml version=\"1.0\"?>\r\n"
	  "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
	  "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body><u:" },
	{ "namespace-colon-minimal", "64ef08a",
	  "upstream's testreplyparse/invalid.xml",
	  "<a:" },
	{ "data-then-lt", "42965d7",
	  "character data followed by a '<' in the last byte: parseelt peeks one byte past the buffer",
	  "<a> <" },
};

static void noop_start(void * d, const char * n, int l) { (void)d; (void)n; (void)l; }
static void noop_end(void * d, const char * n, int l) { (void)d; (void)n; (void)l; }
static void noop_data(void * d, const char * s, int l) { (void)d; (void)s; (void)l; }
static void noop_att(void * d, const char * n, int nl, const char * v, int vl)
{
	(void)d; (void)n; (void)nl; (void)v; (void)vl;
}

/* Every parser a router's bytes reach, on a private copy of exactly len bytes. */
static void parse_all(const char * bytes, int len)
{
	char * buf = malloc(len > 0 ? (size_t)len : 1);
	struct NameValueParserData nv;
	struct IGDdatas igd;
	struct PortMappingParserData pl;
	struct xmlparser raw;

	if(buf == NULL) {
		perror("malloc");
		exit(2);
	}
	memcpy(buf, bytes, (size_t)len);

	/* SOAP replies: upnpcommands.c */
	memset(&nv, 0, sizeof(nv));
	ParseNameValue(buf, len, &nv);
	ClearNameValueList(&nv);

	/* root descriptions: miniupnpc.c */
	memset(&igd, 0, sizeof(igd));
	parserootdesc(buf, len, &igd);

	/* GetListOfPortMappings' NewPortListing */
	memset(&pl, 0, sizeof(pl));
	ParsePortListing(buf, len, &pl);
	FreePortListing(&pl);

	/* the bare parser with every callback set, attributes included */
	memset(&raw, 0, sizeof(raw));
	raw.xmlstart = buf;
	raw.xmlsize = len;
	raw.starteltfunc = noop_start;
	raw.endeltfunc = noop_end;
	raw.datafunc = noop_data;
	raw.attfunc = noop_att;
	parsexml(&raw);

	free(buf);
}

static int parse_file(const char * path)
{
	FILE * f = fopen(path, "rb");
	char * bytes;
	long len;
	if(f == NULL) {
		perror(path);
		return 1;
	}
	if(fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 || len > (1L << 24)) {
		fprintf(stderr, "%s: cannot size\n", path);
		fclose(f);
		return 1;
	}
	bytes = malloc(len > 0 ? (size_t)len : 1);
	if(bytes == NULL || fread(bytes, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(bytes);
		fclose(f);
		return 1;
	}
	fclose(f);
	parse_all(bytes, (int)len);
	free(bytes);
	printf("%s: %ld bytes parsed\n", path, len);
	return 0;
}

int main(int argc, char * * argv)
{
	size_t i;
	int status = 0;
	if(argc == 2 && strcmp(argv[1], "--list") == 0) {
		for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			printf("%s\t%s\t%s\n", cases[i].name, cases[i].patch, cases[i].why);
		return 0;
	}
	if(argc == 3 && strcmp(argv[1], "--case") == 0) {
		for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			if(strcmp(argv[2], cases[i].name) == 0) {
				printf("case %s (patch %s): %s\n", cases[i].name, cases[i].patch, cases[i].why);
				fflush(stdout);
				parse_all(cases[i].xml, (int)strlen(cases[i].xml));
				printf("case %s: parsed without a memory error\n", cases[i].name);
				return 0;
			}
		}
		fprintf(stderr, "unknown case %s (--list)\n", argv[2]);
		return 2;
	}
	if(argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: %s --case NAME | --list | FILE...\n", argv[0]);
		return 2;
	}
	for(i = 1; i < (size_t)argc; i++)
		status |= parse_file(argv[i]);
	return status;
}
