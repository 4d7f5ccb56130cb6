/* Stub for build/Generator only (see README.md): struct timeval as glibc and musl declare it on x86_64
 * (time_t and suseconds_t are long). */
#ifndef GENERATOR_STUB_SYS_TIME_H
#define GENERATOR_STUB_SYS_TIME_H
struct timeval {
	long tv_sec;
	long tv_usec;
};
#endif
