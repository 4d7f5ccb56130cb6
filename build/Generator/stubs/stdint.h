/* Stub for build/Generator only (see README.md): the fixed-width types natpmp.h uses. */
#ifndef GENERATOR_STUB_STDINT_H
#define GENERATOR_STUB_STDINT_H
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
#endif
