# osx-x64 on a Mac (any architecture): Apple clang from the Xcode command line tools.
#   ./build.sh native --rid osx-x64        (build.sh uses this file when the host is not osx-x64)
# Not CMAKE_SYSTEM_NAME: the target is still Darwin, so CMake does not treat this as cross-compiling and CTest runs
# the x86_64 test programs directly (under Rosetta 2 on Apple silicon).
set(CMAKE_OSX_ARCHITECTURES x86_64 CACHE STRING "")
# The oldest macOS that .NET 8 supports.
set(CMAKE_OSX_DEPLOYMENT_TARGET 12.0 CACHE STRING "")
