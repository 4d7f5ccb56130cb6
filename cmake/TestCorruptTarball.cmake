# CTest case: a cached tarball whose hash does not match must stop the build with a message
# giving the expected and the actual SHA-256 (issue: "a mismatch is a hard error").
#   cmake -D SCRATCH=<dir> -D GOOD_TARBALL=<native/cache/…tar.gz> [-D SOURCE_MODULE=LibnatpmpSource] -P TestCorruptTarball.cmake
# SOURCE_MODULE names the library's file in cmake/ (default MiniupnpcSource); its release name and hash are read from it.
cmake_minimum_required(VERSION 3.20)
if(NOT SOURCE_MODULE)
  set(SOURCE_MODULE MiniupnpcSource)
endif()
get_filename_component(script "${CMAKE_CURRENT_LIST_DIR}/${SOURCE_MODULE}.cmake" ABSOLUTE)
# The library's prefix, name, version and hash, as its module sets them (script mode does nothing on include).
include("${script}")
file(STRINGS "${script}" prefix_line REGEX "^set\\([A-Z]+_NAME ")
string(REGEX REPLACE "^set\\(([A-Z]+)_NAME .*" "\\1" P "${prefix_line}")
set(release "${${P}_NAME}-${${P}_VERSION}")

file(REMOVE_RECURSE "${SCRATCH}")
file(MAKE_DIRECTORY "${SCRATCH}/cache")
set(bad "${SCRATCH}/cache/${release}.tar.gz")
if(EXISTS "${GOOD_TARBALL}")
  # The genuine tarball with one stray byte after it, like a botched download.
  file(COPY_FILE "${GOOD_TARBALL}" "${bad}")
  file(APPEND "${bad}" "x")
else()
  file(WRITE "${bad}" "not a tarball")
endif()

execute_process(
  COMMAND "${CMAKE_COMMAND}" -E env --unset=${P}_SOURCE_DIR
          "${CMAKE_COMMAND}" -D "DEST=${SCRATCH}/src" -D "CACHE_DIR=${SCRATCH}/cache" -P "${script}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(SHA256 "${bad}" actual)
if(rc EQUAL 0)
  message(FATAL_ERROR "the corrupted tarball was accepted")
endif()
if(NOT err MATCHES "SHA-256 mismatch" OR NOT err MATCHES "expected ${${P}_SHA256}"
   OR NOT err MATCHES "actual   ${actual}")
  message(FATAL_ERROR "the build failed, but not with the hash message:\n${err}")
endif()
if(EXISTS "${SCRATCH}/src/${release}")
  message(FATAL_ERROR "the corrupted tarball was extracted")
endif()
file(REMOVE_RECURSE "${SCRATCH}")
message(STATUS "${release}: corrupted tarball refused (actual ${actual}), as expected")
