# linux-arm64 from Debian x86_64: gcc-aarch64-linux-gnu libc6-dev-arm64-cross (build), qemu-user (tests).
#   ./build.sh native --rid linux-arm64
# Passed to upstream's CMake too (native/CMakeLists.txt forwards CMAKE_TOOLCHAIN_FILE to the ExternalProject).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)

set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# CTest runs target programs through qemu's user-mode emulator (no binfmt needed: it is named explicitly).
# Upstream's shell-script tests exec target binaries themselves and cannot use it: build/cross.sh leaves them out.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/usr/aarch64-linux-gnu)
