# The reproducers of native/patches/ (tests/native/*.c): each one fails on miniupnpc 2.3.3 as released and passes
# with the patch it names. They are built with AddressSanitizer and UndefinedBehaviorSanitizer against upstream's
# sources (the patched tree this build extracted), compiled here the way upstream's own tests compile them, so
# that an over-read of a single byte is an error in every build, not only in `./build.sh native --sanitize`.
#
# Included by native/CMakeLists.txt after miniupnpc_obtain_source(MINIUPNPC_SOURCE) and ExternalProject_Add:
#   include("${REPO_ROOT}/native/sanitize/ReliabilityTests.cmake")
# Also registers `patches-applied` (every native/patches/*.patch is in the tree). The sanitizer tests are skipped
# (with a message) when cross-compiling or when the compiler cannot link -fsanitize=address,undefined.

if(NOT BUILD_TESTING)
  return()
endif()

# Every patch is really in the tree the library was built from (any RID; needs only git).
add_test(NAME patches-applied
  COMMAND "${CMAKE_COMMAND}" -D "TREE=${MINIUPNPC_SOURCE}" -D "PATCH_DIR=${REPO_ROOT}/native/patches"
    -P "${REPO_ROOT}/native/sanitize/CheckPatchesApplied.cmake")
set_tests_properties(patches-applied PROPERTIES LABELS "reliability;patches")

if(CMAKE_CROSSCOMPILING OR NOT CMAKE_SYSTEM_NAME STREQUAL "Linux" OR NOT CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  message(STATUS "reliability tests: skipped (they need a native Linux gcc or clang with AddressSanitizer)")
  return()
endif()

include(CheckCSourceCompiles)
set(MU_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
set(CMAKE_REQUIRED_FLAGS "-fsanitize=address,undefined")
set(CMAKE_REQUIRED_LINK_OPTIONS -fsanitize=address,undefined)
check_c_source_compiles("int main(void) { return 0; }" MU_HAVE_ASAN_UBSAN)
unset(CMAKE_REQUIRED_FLAGS)
unset(CMAKE_REQUIRED_LINK_OPTIONS)
if(NOT MU_HAVE_ASAN_UBSAN)
  message(STATUS "reliability tests: skipped (${CMAKE_C_COMPILER} cannot link -fsanitize=address,undefined; Debian: libasan, libubsan)")
  return()
endif()
find_package(Threads REQUIRED)

# upstream's miniupnpcstrings.h, from its own template
function(_mu_configure_strings out_dir)
  set(PROJECT_VERSION "${MINIUPNPC_VERSION}")
  configure_file("${MINIUPNPC_SOURCE}/miniupnpcstrings.h.cmake" "${out_dir}/miniupnpcstrings.h")
endfunction()
set(MU_ASAN_GENERATED "${CMAKE_BINARY_DIR}/miniupnpc-asan")
_mu_configure_strings("${MU_ASAN_GENERATED}")

# upstream's MINIUPNPC_SOURCES and its compile definitions for Linux (its CMakeLists.txt, "miniupnpc-private")
set(MU_LIBRARY_SOURCES igd_desc_parse miniupnpc minixml minisoap minissdpc miniwget upnpcommands upnpdev
    upnpreplyparse upnperrors connecthostport portlistingparse receivedata addr_is_reserved)
list(TRANSFORM MU_LIBRARY_SOURCES PREPEND "${MINIUPNPC_SOURCE}/src/")
list(TRANSFORM MU_LIBRARY_SOURCES APPEND ".c")
add_library(miniupnpc_asan STATIC ${MU_LIBRARY_SOURCES})
target_compile_definitions(miniupnpc_asan PUBLIC
  MINIUPNP_STATICLIB MINIUPNPC_SET_SOCKET_TIMEOUT MINIUPNPC_GET_SRC_ADDR _BSD_SOURCE _DEFAULT_SOURCE _XOPEN_SOURCE=600)
target_include_directories(miniupnpc_asan PUBLIC
  "${MINIUPNPC_SOURCE}/include" "${MINIUPNPC_SOURCE}/src" "${MU_ASAN_GENERATED}" "${REPO_ROOT}/tests/native")
# -O0: gcc 12 at -O1 folds away the one-byte read past the buffer that 3cfb4fb fixes; -O0 and -O2 both report it.
target_compile_options(miniupnpc_asan PUBLIC ${MU_SANITIZE_FLAGS} -g -O0)
# Our patch's total for one HTTP reply (30 s in the shipped library), short here so that its test takes seconds.
target_compile_definitions(miniupnpc_asan PRIVATE MINIUPNPC_HTTP_TOTAL_TIMEOUT=4000)
target_link_options(miniupnpc_asan PUBLIC -fsanitize=address,undefined)
target_link_libraries(miniupnpc_asan PUBLIC Threads::Threads)

set(MU_TEST_ENV
  "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86"
  "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")

foreach(prog hostile_parsers hostile_http absolute_url fd_setsize http_total_deadline)
  add_executable(${prog} "${REPO_ROOT}/tests/native/${prog}.c")
  target_link_libraries(${prog} PRIVATE miniupnpc_asan)
endforeach()

# One test per patch of native/patches/, named after it.
function(mu_patch_test name)
  add_test(NAME ${name} COMMAND ${ARGN})
  set_tests_properties(${name} PROPERTIES
    ENVIRONMENT "${MU_TEST_ENV}" SKIP_RETURN_CODE 77 TIMEOUT 60 LABELS "reliability;patches")
endfunction()
mu_patch_test(patch-3cfb4fb-attribute-at-end hostile_parsers --case attribute-eq)
mu_patch_test(patch-64ef08a-namespace-colon-at-end hostile_parsers --case namespace-colon)
mu_patch_test(patch-64ef08a-upstream-invalid-xml hostile_parsers --case namespace-colon-minimal)
mu_patch_test(patch-42965d7-lt-in-last-byte hostile_parsers --case data-then-lt)
mu_patch_test(patch-00edf18-empty-content-length hostile_http)
mu_patch_test(patch-605d33f-scope-id-of-no-interface absolute_url)
mu_patch_test(patch-c157807-descriptor-above-fd_setsize fd_setsize)
mu_patch_test(patch-ours-miniwget-total-deadline http_total_deadline)

# Every sample reply and description upstream ships, and the fuzzers' committed seeds, through every parser.
file(GLOB MU_PARSER_SAMPLES
  "${MINIUPNPC_SOURCE}/testdesc/*.xml" "${MINIUPNPC_SOURCE}/testreplyparse/*.xml" "${REPO_ROOT}/native/fuzz/seeds/*/*")
add_test(NAME parsers-upstream-samples COMMAND hostile_parsers ${MU_PARSER_SAMPLES})
set_tests_properties(parsers-upstream-samples PROPERTIES
  ENVIRONMENT "${MU_TEST_ENV}" TIMEOUT 60 LABELS "reliability")
