# CTest check: every native/patches/*.patch is really in the extracted tree (it reverse-applies cleanly).
#   cmake -D TREE=<artifacts/src/miniupnpc-2.3.3> -D PATCH_DIR=<native/patches> -P CheckPatchesApplied.cmake
# Why: `git apply` run inside another repository's work tree (artifacts/ lies in this project's) takes the patch's
# paths relative to that repository's top and skips every file, successfully and silently. Git's repository
# discovery is stopped above the tree here, so the check sees the tree's own paths.
cmake_minimum_required(VERSION 3.20)
find_program(GIT git REQUIRED)
get_filename_component(parent "${TREE}" DIRECTORY)
file(GLOB patches "${PATCH_DIR}/*.patch")
list(SORT patches)
set(missing "")
foreach(p IN LISTS patches)
  execute_process(COMMAND "${CMAKE_COMMAND}" -E env "GIT_CEILING_DIRECTORIES=${parent}"
                    "${GIT}" apply --reverse --check -p1 "${p}"
    WORKING_DIRECTORY "${TREE}" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  get_filename_component(name "${p}" NAME)
  if(rc EQUAL 0)
    message(STATUS "applied: ${name}")
  else()
    list(APPEND missing "${name}")
  endif()
endforeach()
list(LENGTH patches n)
if(missing)
  message(FATAL_ERROR "${TREE} lacks these patches although its stamp lists them: ${missing}. "
    "Delete the tree (it is re-extracted and patched by the next ./build.sh native) and see native/patches/README.md.")
endif()
message(STATUS "all ${n} patches of ${PATCH_DIR} are in ${TREE}")
