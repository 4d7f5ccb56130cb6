# Obtains the pinned miniupnpc release source, verifies it, and applies our patches.
#
# Used two ways:
#   include(MiniupnpcSource) + miniupnpc_obtain_source(<out-var>)   from native/CMakeLists.txt
#   cmake -D DEST=<dir> [-D CACHE_DIR=<dir>] [-D MINIUPNPC_SOURCE_DIR=<dir>] -P cmake/MiniupnpcSource.cmake
#                                                                    from build.sh / build.ps1 / tests
#
# Routes, in order (design.md, "The native source"):
#   1. MINIUPNPC_SOURCE_DIR (CMake variable or environment variable): a directory holding the release
#      tarball, or an extracted release tree (then every file is checked against the committed
#      per-file manifest native/miniupnpc-<version>.sha256sums);
#   2. the cached tarball <CACHE_DIR>/miniupnpc-<version>.tar.gz (git-ignored);
#   3. the upstream release download;
#   4. on Debian-family machines: Debian's source package, fetched by apt with private state
#      directories, so the machine's own apt configuration is not touched.
# The SHA-256 is checked on every route; a mismatch is a hard error naming both hashes.
# The verified tree is extracted to <DEST>/miniupnpc-<version>, then native/patches/*.patch are applied.

cmake_minimum_required(VERSION 3.20)

set(MINIUPNPC_VERSION 2.3.3)
set(MINIUPNPC_SHA256 d52a0afa614ad6c088cc9ddff1ae7d29c8c595ac5fdd321170a05f41e634bd1a)
set(MINIUPNPC_DEBIAN_SOURCE_VERSION 2.3.3-2)
set(MINIUPNPC_URLS
  https://miniupnp.tuxfamily.org/files/miniupnpc-${MINIUPNPC_VERSION}.tar.gz
  http://miniupnp.free.fr/files/miniupnpc-${MINIUPNPC_VERSION}.tar.gz)

get_filename_component(_MUS_REPO_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(_MUS_MANIFEST "${_MUS_REPO_ROOT}/native/miniupnpc-${MINIUPNPC_VERSION}.sha256sums")
set(_MUS_PATCH_DIR "${_MUS_REPO_ROOT}/native/patches")

function(_mus_check_tarball file)
  file(SHA256 "${file}" actual)
  if(NOT actual STREQUAL MINIUPNPC_SHA256)
    message(FATAL_ERROR
      "miniupnpc source: SHA-256 mismatch for ${file}\n"
      "  expected ${MINIUPNPC_SHA256}\n"
      "  actual   ${actual}\n"
      "Delete the file to fetch it again, or point MINIUPNPC_SOURCE_DIR at a genuine miniupnpc-${MINIUPNPC_VERSION} release.")
  endif()
endfunction()

# An extracted tree has no single hash: every file the release contains must match the manifest.
function(_mus_check_tree dir)
  file(STRINGS "${_MUS_MANIFEST}" lines)
  foreach(line IN LISTS lines)
    string(REGEX MATCH "^([0-9a-f]+)  (.+)$" _ "${line}")
    set(expected "${CMAKE_MATCH_1}")
    set(rel "${CMAKE_MATCH_2}")
    if(NOT EXISTS "${dir}/${rel}")
      message(FATAL_ERROR "miniupnpc source: ${dir} lacks ${rel}; not a miniupnpc-${MINIUPNPC_VERSION} release tree")
    endif()
    file(SHA256 "${dir}/${rel}" actual)
    if(NOT actual STREQUAL expected)
      message(FATAL_ERROR
        "miniupnpc source: SHA-256 mismatch for ${dir}/${rel}\n"
        "  expected ${expected}\n"
        "  actual   ${actual}")
    endif()
  endforeach()
endfunction()

function(_mus_try_download out_ok tarball)
  foreach(url IN LISTS MINIUPNPC_URLS)
    message(STATUS "miniupnpc source: downloading ${url}")
    file(DOWNLOAD "${url}" "${tarball}.part" TIMEOUT 120 INACTIVITY_TIMEOUT 20 STATUS status)
    list(GET status 0 code)
    if(code EQUAL 0)
      _mus_check_tarball("${tarball}.part")
      file(RENAME "${tarball}.part" "${tarball}")
      set(${out_ok} TRUE PARENT_SCOPE)
      return()
    endif()
    file(REMOVE "${tarball}.part")
    message(STATUS "miniupnpc source: download failed (${status})")
  endforeach()
  set(${out_ok} FALSE PARENT_SCOPE)
endfunction()

# The mirror the machine already uses, from its own apt sources; never a hard-coded host.
function(_mus_debian_mirror out_uri)
  file(GLOB sources_files /etc/apt/sources.list.d/*.sources)
  foreach(f IN LISTS sources_files)
    file(STRINGS "${f}" uris REGEX "^URIs:")
    foreach(u IN LISTS uris)
      string(REGEX REPLACE "^URIs:[ \t]*" "" u "${u}")
      separate_arguments(u)
      foreach(one IN LISTS u)
        if(NOT one MATCHES "security")
          set(${out_uri} "${one}" PARENT_SCOPE)
          return()
        endif()
      endforeach()
    endforeach()
  endforeach()
  if(EXISTS /etc/apt/sources.list)
    file(STRINGS /etc/apt/sources.list debs REGEX "^deb(-src)?[ \t]")
    foreach(line IN LISTS debs)
      string(REGEX REPLACE "\\[[^]]*\\]" "" line "${line}")
      separate_arguments(line)
      list(GET line 1 one)
      if(NOT one MATCHES "security")
        set(${out_uri} "${one}" PARENT_SCOPE)
        return()
      endif()
    endforeach()
  endif()
  set(${out_uri} "" PARENT_SCOPE)
endfunction()

function(_mus_try_debian out_ok tarball)
  set(${out_ok} FALSE PARENT_SCOPE)
  find_program(APT_GET apt-get)
  if(NOT APT_GET OR NOT EXISTS /usr/share/keyrings/debian-archive-keyring.gpg)
    return()
  endif()
  _mus_debian_mirror(mirror)
  if(mirror STREQUAL "")
    message(STATUS "miniupnpc source: no Debian mirror found in the apt sources")
    return()
  endif()
  get_filename_component(work "${tarball}.apt" ABSOLUTE)
  file(REMOVE_RECURSE "${work}")
  file(MAKE_DIRECTORY "${work}/lists/partial" "${work}/cache/archives/partial" "${work}/download")
  file(WRITE "${work}/sources.list"
    "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror} sid main\n")
  set(opts
    -o "Dir::Etc::SourceList=${work}/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=${work}/lists" -o "Dir::Cache=${work}/cache" -o APT::Sandbox::User=root)
  message(STATUS "miniupnpc source: fetching Debian source package miniupnpc=${MINIUPNPC_DEBIAN_SOURCE_VERSION} from ${mirror}")
  execute_process(COMMAND "${APT_GET}" ${opts} -qq update
    RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err TIMEOUT 300)
  if(rc EQUAL 0)
    execute_process(COMMAND "${APT_GET}" ${opts} -qq source --download-only "miniupnpc=${MINIUPNPC_DEBIAN_SOURCE_VERSION}"
      WORKING_DIRECTORY "${work}/download" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err TIMEOUT 300)
  endif()
  set(orig "${work}/download/miniupnpc_${MINIUPNPC_VERSION}.orig.tar.gz")
  if(NOT rc EQUAL 0 OR NOT EXISTS "${orig}")
    message(STATUS "miniupnpc source: apt route failed (${rc}): ${err}")
    file(REMOVE_RECURSE "${work}")
    return()
  endif()
  # Debian's .orig.tar.gz is upstream's signed release tarball, byte for byte.
  _mus_check_tarball("${orig}")
  file(RENAME "${orig}" "${tarball}")
  file(REMOVE_RECURSE "${work}")
  set(${out_ok} TRUE PARENT_SCOPE)
endfunction()

function(_mus_apply_patches tree)
  file(GLOB patches "${_MUS_PATCH_DIR}/*.patch")
  list(SORT patches)
  # The tree lies inside this project's git work tree (artifacts/ is only git-ignored). There, `git apply` takes
  # the patch's paths relative to the top of the project and skips every file, successfully and silently. Stop
  # git's repository discovery above the tree, and treat any skipped file as an error.
  get_filename_component(parent "${tree}" DIRECTORY)
  foreach(p IN LISTS patches)
    message(STATUS "miniupnpc source: applying ${p}")
    execute_process(COMMAND "${CMAKE_COMMAND}" -E env "GIT_CEILING_DIRECTORIES=${parent}"
                      git apply -p1 --verbose --whitespace=nowarn "${p}"
      WORKING_DIRECTORY "${tree}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0 OR "${out}${err}" MATCHES "Skipped patch")
      message(FATAL_ERROR "miniupnpc source: patch ${p} does not apply: ${out}${err}")
    endif()
  endforeach()
endfunction()

# Identity of what DEST holds: the release hash plus every patch's content.
function(_mus_stamp out)
  # "patched-by 2": trees patched before the GIT_CEILING_DIRECTORIES fix (patches silently skipped) are re-extracted.
  set(text "${MINIUPNPC_SHA256}\npatched-by 2")
  file(GLOB patches "${_MUS_PATCH_DIR}/*.patch")
  list(SORT patches)
  foreach(p IN LISTS patches)
    file(SHA256 "${p}" h)
    get_filename_component(n "${p}" NAME)
    string(APPEND text "\n${n} ${h}")
  endforeach()
  set(${out} "${text}\n" PARENT_SCOPE)
endfunction()

# miniupnpc_obtain_source(<out-var> [DEST <dir>] [CACHE_DIR <dir>])
function(miniupnpc_obtain_source out_var)
  cmake_parse_arguments(arg "" "DEST;CACHE_DIR" "" ${ARGN})
  if(NOT arg_DEST)
    set(arg_DEST "${_MUS_REPO_ROOT}/artifacts/src")
  endif()
  if(NOT arg_CACHE_DIR)
    set(arg_CACHE_DIR "${_MUS_REPO_ROOT}/native/cache")
  endif()
  set(tree "${arg_DEST}/miniupnpc-${MINIUPNPC_VERSION}")
  set(tarball "${arg_CACHE_DIR}/miniupnpc-${MINIUPNPC_VERSION}.tar.gz")
  _mus_stamp(stamp)

  set(user_dir "${MINIUPNPC_SOURCE_DIR}")
  if(NOT user_dir AND DEFINED ENV{MINIUPNPC_SOURCE_DIR})
    set(user_dir "$ENV{MINIUPNPC_SOURCE_DIR}")
  endif()

  if(EXISTS "${tree}/.miniupnpnet-stamp" AND NOT user_dir)
    file(READ "${tree}/.miniupnpnet-stamp" have)
    if(have STREQUAL stamp AND EXISTS "${tarball}")
      # Already verified and patched; the cached tarball is re-checked so a corrupted cache never goes unnoticed.
      _mus_check_tarball("${tarball}")
      set(${out_var} "${tree}" PARENT_SCOPE)
      return()
    endif()
  endif()

  set(from_tree "")
  if(user_dir)
    if(EXISTS "${user_dir}/miniupnpc-${MINIUPNPC_VERSION}.tar.gz")
      message(STATUS "miniupnpc source: route 1, tarball in ${user_dir}")
      _mus_check_tarball("${user_dir}/miniupnpc-${MINIUPNPC_VERSION}.tar.gz")
      file(MAKE_DIRECTORY "${arg_CACHE_DIR}")
      file(COPY_FILE "${user_dir}/miniupnpc-${MINIUPNPC_VERSION}.tar.gz" "${tarball}")
    elseif(EXISTS "${user_dir}/VERSION")
      message(STATUS "miniupnpc source: route 1, release tree ${user_dir}")
      _mus_check_tree("${user_dir}")
      set(from_tree "${user_dir}")
    else()
      message(FATAL_ERROR "MINIUPNPC_SOURCE_DIR=${user_dir} holds neither miniupnpc-${MINIUPNPC_VERSION}.tar.gz nor a release tree")
    endif()
  elseif(EXISTS "${tarball}")
    message(STATUS "miniupnpc source: route 2, cached ${tarball}")
    _mus_check_tarball("${tarball}")
  else()
    file(MAKE_DIRECTORY "${arg_CACHE_DIR}")
    _mus_try_download(ok "${tarball}")
    if(NOT ok)
      _mus_try_debian(ok "${tarball}")
    endif()
    if(NOT ok)
      message(FATAL_ERROR
        "miniupnpc source: could not obtain miniupnpc-${MINIUPNPC_VERSION}.tar.gz "
        "(SHA-256 ${MINIUPNPC_SHA256}). Download it by hand into ${arg_CACHE_DIR}/, "
        "or set MINIUPNPC_SOURCE_DIR to a directory holding it.")
    endif()
  endif()

  file(REMOVE_RECURSE "${tree}")
  file(MAKE_DIRECTORY "${arg_DEST}")
  if(from_tree)
    file(COPY "${from_tree}/" DESTINATION "${tree}")
  else()
    file(ARCHIVE_EXTRACT INPUT "${tarball}" DESTINATION "${arg_DEST}")
  endif()
  _mus_apply_patches("${tree}")
  file(WRITE "${tree}/.miniupnpnet-stamp" "${stamp}")
  set(${out_var} "${tree}" PARENT_SCOPE)
endfunction()

# Script mode: cmake -D DEST=... -P MiniupnpcSource.cmake
if(CMAKE_SCRIPT_MODE_FILE AND CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  set(_args "")
  if(DEST)
    list(APPEND _args DEST "${DEST}")
  endif()
  if(CACHE_DIR)
    list(APPEND _args CACHE_DIR "${CACHE_DIR}")
  endif()
  miniupnpc_obtain_source(_tree ${_args})
  message(STATUS "miniupnpc source: ${_tree}")
endif()
