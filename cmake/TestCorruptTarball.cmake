# CTest case: a cached tarball whose hash does not match must stop the build with a message
# giving the expected and the actual SHA-256 (issue: "a mismatch is a hard error").
cmake_minimum_required(VERSION 3.20)
file(REMOVE_RECURSE "${SCRATCH}")
file(MAKE_DIRECTORY "${SCRATCH}/cache")
set(bad "${SCRATCH}/cache/miniupnpc-2.3.3.tar.gz")
if(EXISTS "${GOOD_TARBALL}")
  # The genuine tarball with one stray byte after it, like a botched download.
  file(COPY_FILE "${GOOD_TARBALL}" "${bad}")
  file(APPEND "${bad}" "x")
else()
  file(WRITE "${bad}" "not a tarball")
endif()

get_filename_component(script "${CMAKE_CURRENT_LIST_DIR}/MiniupnpcSource.cmake" ABSOLUTE)
execute_process(
  COMMAND "${CMAKE_COMMAND}" -E env --unset=MINIUPNPC_SOURCE_DIR
          "${CMAKE_COMMAND}" -D "DEST=${SCRATCH}/src" -D "CACHE_DIR=${SCRATCH}/cache" -P "${script}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(SHA256 "${bad}" actual)
if(rc EQUAL 0)
  message(FATAL_ERROR "the corrupted tarball was accepted")
endif()
if(NOT err MATCHES "SHA-256 mismatch" OR NOT err MATCHES "expected d52a0afa614ad6c088cc9ddff1ae7d29c8c595ac5fdd321170a05f41e634bd1a"
   OR NOT err MATCHES "actual   ${actual}")
  message(FATAL_ERROR "the build failed, but not with the hash message:\n${err}")
endif()
if(EXISTS "${SCRATCH}/src/miniupnpc-2.3.3")
  message(FATAL_ERROR "the corrupted tarball was extracted")
endif()
file(REMOVE_RECURSE "${SCRATCH}")
message(STATUS "corrupted tarball refused (actual ${actual}), as expected")
