# win-x64 from Debian x86_64: gcc-mingw-w64-x86-64-win32 (build), wine64 (tests).
#   ./build.sh native --rid win-x64
# The -win32 compiler (not -posix) uses Win32 threads, so nothing pulls in libwinpthread-1.dll; -static-libgcc keeps
# libgcc out of the imports. The DLL then imports only IPHLPAPI, KERNEL32, msvcrt and WS2_32, present on every
# Windows. Upstream's CMake does not link miniupnpc.def (whose LIBRARY line names miniupnpc.dll): the
# MINIUPNP_LIBSPEC dllexport attributes export all 41 public functions of libminiupnpc.dll.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR AMD64)

set(_mingw x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${_mingw}-gcc-win32)
set(CMAKE_RC_COMPILER ${_mingw}-windres)
find_program(CMAKE_OBJDUMP ${_mingw}-objdump)

set(CMAKE_FIND_ROOT_PATH /usr/${_mingw})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# --no-insert-timestamp: the PE header's link time would make every build a different file.
# -s: no COFF symbol table or DWARF (from MinGW's runtime objects); exports are unaffected, and Windows debuggers
# cannot use DWARF anyway. About 430 KB -> 100 KB.
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc -s -Wl,--no-insert-timestamp")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static-libgcc -s -Wl,--no-insert-timestamp")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-static-libgcc -s -Wl,--no-insert-timestamp")

# CTest runs the test programs under wine64, in a prefix of our own under artifacts/ (see wine64-run.sh).
set(CMAKE_CROSSCOMPILING_EMULATOR ${CMAKE_CURRENT_LIST_DIR}/wine64-run.sh)
