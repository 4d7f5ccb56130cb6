# The pinned libnatpmp release: obtained, verified and patched by cmake/NativeSource.cmake (routes and checks there).
#
# Used two ways:
#   include(LibnatpmpSource) + libnatpmp_obtain_source(<out-var>)   from native/CMakeLists.txt
#   cmake -D DEST=<dir> [-D CACHE_DIR=<dir>] [-D LIBNATPMP_SOURCE_DIR=<dir>] -P cmake/LibnatpmpSource.cmake
# Route 1 is LIBNATPMP_SOURCE_DIR (a folder with libnatpmp-20230423.tar.gz, or a release tree checked file by file
# against native/libnatpmp-20230423.sha256sums). Route 4 is Debian's source package libnatpmp 20230423-1.2, whose
# libnatpmp_20230423.orig.tar.gz is upstream's tarball (design.md, "The second native source"). The tree is
# extracted to <DEST>/libnatpmp-20230423, then native/patches/libnatpmp/*.patch are applied.
cmake_minimum_required(VERSION 3.20)
include("${CMAKE_CURRENT_LIST_DIR}/NativeSource.cmake")

set(LIBNATPMP_NAME libnatpmp)
set(LIBNATPMP_VERSION 20230423)
set(LIBNATPMP_SHA256 0684ed2c8406437e7519a1bd20ea83780db871b3a3a5d752311ba3e889dbfc70)
set(LIBNATPMP_DEBIAN_PACKAGE libnatpmp)
set(LIBNATPMP_DEBIAN_SOURCE_VERSION 20230423-1.2)
set(LIBNATPMP_URLS
  https://miniupnp.tuxfamily.org/files/libnatpmp-${LIBNATPMP_VERSION}.tar.gz
  http://miniupnp.free.fr/files/libnatpmp-${LIBNATPMP_VERSION}.tar.gz)
# The release has no VERSION file (upstream's git added one after it).
set(LIBNATPMP_TREE_MARKER natpmp.h)
set(LIBNATPMP_MANIFEST "${_NS_REPO_ROOT}/native/libnatpmp-${LIBNATPMP_VERSION}.sha256sums")
set(LIBNATPMP_PATCH_DIR "${_NS_REPO_ROOT}/native/patches/libnatpmp")

# libnatpmp_obtain_source(<out-var> [DEST <dir>] [CACHE_DIR <dir>])
function(libnatpmp_obtain_source out_var)
  native_obtain_source(LIBNATPMP tree ${ARGN})
  set(${out_var} "${tree}" PARENT_SCOPE)
endfunction()

if(CMAKE_SCRIPT_MODE_FILE AND CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  native_source_script_mode(LIBNATPMP)
endif()
