# linux-musl-x64 (Alpine and other musl distributions) from Debian x86_64: musl-tools.
#   ./build.sh native --rid linux-musl-x64
# musl-gcc is Debian's wrapper around the system gcc with musl's headers, crt files and libc (specs file).
# The library's only dependency is "libc.so", which musl's loader maps to itself on every musl system.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(CMAKE_C_COMPILER musl-gcc)

# No find root: upstream's CMake looks up no library on Linux, and musl-gcc's specs already replace glibc's headers,
# crt files and libraries with musl's (/usr/include/x86_64-linux-musl, /usr/lib/x86_64-linux-musl).

# Programs built by musl-gcc name /lib/ld-musl-x86_64.so.1 as their interpreter; naming the loader explicitly
# keeps CTest working even where only the loader file, not a musl system, is present.
set(CMAKE_CROSSCOMPILING_EMULATOR /lib/ld-musl-x86_64.so.1)
