# The pinned miniupnpc release: obtained, verified and patched by cmake/NativeSource.cmake (routes and checks there).
#
# Used two ways:
#   include(MiniupnpcSource) + miniupnpc_obtain_source(<out-var>)   from native/CMakeLists.txt
#   cmake -D DEST=<dir> [-D CACHE_DIR=<dir>] [-D MINIUPNPC_SOURCE_DIR=<dir>] -P cmake/MiniupnpcSource.cmake
#                                                                    from build.sh / build.ps1 / tests
# Route 1 is MINIUPNPC_SOURCE_DIR (a folder with the tarball, or a release tree checked file by file against
# native/miniupnpc-<version>.sha256sums). The tree is extracted to <DEST>/miniupnpc-<version>, then
# native/patches/*.patch are applied.
cmake_minimum_required(VERSION 3.20)
include("${CMAKE_CURRENT_LIST_DIR}/NativeSource.cmake")

set(MINIUPNPC_NAME miniupnpc)
set(MINIUPNPC_VERSION 2.3.3)
set(MINIUPNPC_SHA256 d52a0afa614ad6c088cc9ddff1ae7d29c8c595ac5fdd321170a05f41e634bd1a)
set(MINIUPNPC_DEBIAN_PACKAGE miniupnpc)
set(MINIUPNPC_DEBIAN_SOURCE_VERSION 2.3.3-2)
set(MINIUPNPC_URLS
  https://miniupnp.tuxfamily.org/files/miniupnpc-${MINIUPNPC_VERSION}.tar.gz
  http://miniupnp.free.fr/files/miniupnpc-${MINIUPNPC_VERSION}.tar.gz)
set(MINIUPNPC_TREE_MARKER VERSION)
set(MINIUPNPC_MANIFEST "${_NS_REPO_ROOT}/native/miniupnpc-${MINIUPNPC_VERSION}.sha256sums")
set(MINIUPNPC_PATCH_DIR "${_NS_REPO_ROOT}/native/patches")

# miniupnpc_obtain_source(<out-var> [DEST <dir>] [CACHE_DIR <dir>])
function(miniupnpc_obtain_source out_var)
  native_obtain_source(MINIUPNPC tree ${ARGN})
  set(${out_var} "${tree}" PARENT_SCOPE)
endfunction()

if(CMAKE_SCRIPT_MODE_FILE AND CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  native_source_script_mode(MINIUPNPC)
endif()
