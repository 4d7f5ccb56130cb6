# win-x86 from Debian x86_64: gcc-mingw-w64-i686-win32.
#   ./build.sh native --rid win-x86
# -static-libgcc is required here: i686 GCC uses DWARF-2 unwinding from libgcc_s_dw2-1.dll otherwise. With the -win32
# compiler and -static-libgcc the DLL imports only IPHLPAPI, KERNEL32, msvcrt and WS2_32 (checked by build/cross.sh).
# No emulator: 32-bit wine would need the i386 dpkg architecture, which must never be added on these machines; the
# hosted-CI workflow runs the smoke program on Windows instead.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86)

set(_mingw i686-w64-mingw32)
set(CMAKE_C_COMPILER ${_mingw}-gcc-win32)
set(CMAKE_RC_COMPILER ${_mingw}-windres)
find_program(CMAKE_OBJDUMP ${_mingw}-objdump)

set(CMAKE_FIND_ROOT_PATH /usr/${_mingw})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# --no-insert-timestamp: reproducible PE headers; -s: no COFF symbols or DWARF (see win-x64.cmake).
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc -s -Wl,--no-insert-timestamp")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static-libgcc -s -Wl,--no-insert-timestamp")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-static-libgcc -s -Wl,--no-insert-timestamp")
