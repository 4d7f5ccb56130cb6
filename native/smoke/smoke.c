/* Smoke test of a built miniupnpc shared library, run on its target or under an emulator (build/cross.sh smoke RID):
 * loads the library file named on the command line at run time (dlopen / LoadLibrary, so the very file the runtime
 * packages ship is tested, with no import library), then
 *   - checks it is API 21 (UPNP_GetGenericPortMappingEntryExt, new in 2.3.0, is exported),
 *   - strupnperror(718) is "ConflictInMappingEntry",
 *   - parserootdesc on an upstream test description (testdesc/new_LiveBox_desc.xml) gives every value of its
 *     .values file (the services CIF, first, second, IPv6FC: servicetype, controlurl, eventsuburl, scpdurl).
 * Prints one "smoke: PASS ..." or "smoke: FAIL ..." line and exits 0 or 1 (2 for bad usage or unreadable files).
 *
 *   smoke <library> <desc.xml> [<desc.values>]      (default values file: the .xml name with .values)
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#endif

/* Only struct IGDdatas is used from the header; the functions are resolved at run time, so no dllimport. */
#define MINIUPNP_STATICLIB
#include "igd_desc_parse.h"

typedef const char *(*strupnperror_fn)(int err);
typedef void (*parserootdesc_fn)(const char *buffer, int bufsize, struct IGDdatas *data);

static void *library;

static int open_library(const char *path)
{
#ifdef _WIN32
	/* LoadLibrary wants backslashes; the full path means no search of other directories. */
	char buf[MAX_PATH];
	size_t i;
	if (strlen(path) >= sizeof(buf))
		return 0;
	for (i = 0; path[i]; i++)
		buf[i] = path[i] == '/' ? '\\' : path[i];
	buf[i] = '\0';
	library = (void *)LoadLibraryExA(buf, NULL, LOAD_WITH_ALTERED_SEARCH_PATH);
	if (!library)
		fprintf(stderr, "smoke: LoadLibrary(%s) failed: error %lu\n", buf, (unsigned long)GetLastError());
#else
	library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!library)
		fprintf(stderr, "smoke: dlopen(%s) failed: %s\n", path, dlerror());
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
		fprintf(stderr, "smoke: %s is not exported\n", name);
	return p;
}

static char *read_file(const char *path, long *size)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (*size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)*size + 1);
	if (buf && fread(buf, 1, (size_t)*size, f) != (size_t)*size) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[*size] = '\0';
	fclose(f);
	return buf;
}

static const struct IGDdatas_service *service(const struct IGDdatas *d, const char *name)
{
	if (strcmp(name, "CIF") == 0) return &d->CIF;
	if (strcmp(name, "first") == 0) return &d->first;
	if (strcmp(name, "second") == 0) return &d->second;
	if (strcmp(name, "IPv6FC") == 0) return &d->IPv6FC;
	return NULL;
}

static const char *field(const struct IGDdatas_service *s, const char *name)
{
	if (strcmp(name, "servicetype") == 0) return s->servicetype;
	if (strcmp(name, "controlurl") == 0) return s->controlurl;
	if (strcmp(name, "eventsuburl") == 0) return s->eventsuburl;
	if (strcmp(name, "scpdurl") == 0) return s->scpdurl;
	return NULL;
}

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* The .values format of upstream's testdesc/ (read by upstream's testigddescparse.c):
 * "# comment", "SERVICE:" lines, then " name = value" lines. Returns the number of mismatches, -1 if unreadable. */
static int compare_values(const char *path, const struct IGDdatas *d, int *checked)
{
	char line[1024], section[64] = "";
	int bad = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *eq, *name, *value;
		const struct IGDdatas_service *s;
		const char *got;
		trim(line);
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (line[0] != ' ' && line[0] != '\t') {
			size_t n = strlen(line);
			if (n > 0 && line[n - 1] == ':')
				line[n - 1] = '\0';
			strncpy(section, line, sizeof(section) - 1);
			section[sizeof(section) - 1] = '\0';
			continue;
		}
		eq = strstr(line, " = ");
		if (!eq)
			continue;
		*eq = '\0';
		name = line + strspn(line, " \t");
		value = eq + 3;
		s = service(d, section);
		got = s ? field(s, name) : NULL;
		if (!got) {
			fprintf(stderr, "smoke: %s: unknown entry %s.%s\n", path, section, name);
			bad++;
			continue;
		}
		(*checked)++;
		if (strcmp(got, value) != 0) {
			fprintf(stderr, "smoke: %s.%s is \"%s\", expected \"%s\"\n", section, name, got, value);
			bad++;
		}
	}
	fclose(f);
	return bad;
}

int main(int argc, char **argv)
{
	strupnperror_fn strupnperror;
	parserootdesc_fn parserootdesc;
	struct IGDdatas data;
	const char *text;
	char *xml, *values_path;
	long size;
	int bad, checked = 0;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s <library> <desc.xml> [<desc.values>]\n", argv[0]);
		return 2;
	}
	if (argc == 4) {
		values_path = argv[3];
	} else {
		size_t n = strlen(argv[2]);
		values_path = malloc(n + 8);
		if (!values_path)
			return 2;
		strcpy(values_path, argv[2]);
		if (n > 4 && strcmp(values_path + n - 4, ".xml") == 0)
			values_path[n - 4] = '\0';
		strcat(values_path, ".values");
	}

	if (!open_library(argv[1])) {
		printf("smoke: FAIL cannot load %s\n", argv[1]);
		return 1;
	}
	strupnperror = (strupnperror_fn)symbol("strupnperror");
	parserootdesc = (parserootdesc_fn)symbol("parserootdesc");
	if (!strupnperror || !parserootdesc || !symbol("UPNP_GetGenericPortMappingEntryExt")) {
		printf("smoke: FAIL %s lacks miniupnpc API 21 functions\n", argv[1]);
		return 1;
	}

	text = strupnperror(718);
	if (!text || strcmp(text, "ConflictInMappingEntry") != 0) {
		printf("smoke: FAIL strupnperror(718) = \"%s\", expected \"ConflictInMappingEntry\"\n", text ? text : "(null)");
		return 1;
	}

	xml = read_file(argv[2], &size);
	if (!xml) {
		printf("smoke: FAIL cannot read %s\n", argv[2]);
		return 2;
	}
	memset(&data, 0, sizeof(data));
	parserootdesc(xml, (int)size, &data);
	free(xml);

	bad = compare_values(values_path, &data, &checked);
	if (bad < 0) {
		printf("smoke: FAIL cannot read %s\n", values_path);
		return 2;
	}
	if (bad > 0 || checked == 0 || data.first.servicetype[0] == '\0') {
		printf("smoke: FAIL parserootdesc: %d of %d values differ\n", bad, checked);
		return 1;
	}
	printf("smoke: PASS %d-bit; strupnperror(718)=\"%s\"; parserootdesc: %d values match, "
	       "first.servicetype=\"%s\" first.controlurl=\"%s\"\n",
	       (int)(sizeof(void *) * 8), text, checked, data.first.servicetype, data.first.controlurl);
	return 0;
}
