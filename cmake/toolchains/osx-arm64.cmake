# osx-arm64 on a Mac (any architecture): Apple clang from the Xcode command line tools.
#   ./build.sh native --rid osx-arm64      (build.sh uses this file when the host is not osx-arm64)
# On an Intel Mac the arm64 test programs cannot run: build/cross.sh skips them there.
set(CMAKE_OSX_ARCHITECTURES arm64 CACHE STRING "")
# The oldest macOS that .NET 8 supports.
set(CMAKE_OSX_DEPLOYMENT_TARGET 12.0 CACHE STRING "")
