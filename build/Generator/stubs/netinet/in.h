/* Stub for build/Generator only (see README.md): the IPv4 address types as POSIX declares them. */
#ifndef GENERATOR_STUB_NETINET_IN_H
#define GENERATOR_STUB_NETINET_IN_H
#include <stdint.h>
typedef uint32_t in_addr_t;
struct in_addr {
	in_addr_t s_addr;
};
#endif
