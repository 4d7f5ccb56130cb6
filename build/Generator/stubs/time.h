/* Stub for build/Generator only (see README.md): natpmp.h includes <time.h> but uses nothing of it. */
#ifndef GENERATOR_STUB_TIME_H
#define GENERATOR_STUB_TIME_H
#endif
