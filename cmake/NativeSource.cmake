# Obtains a pinned upstream release source, verifies it, and applies our patches: one module for every native
# library the project builds (miniupnpc, libnatpmp). Each library has a small file that describes it and calls
# native_obtain_source(): cmake/MiniupnpcSource.cmake, cmake/LibnatpmpSource.cmake.
#
# A library is described by variables named <P>_<KEY>, where P is its prefix (MINIUPNPC, LIBNATPMP):
#   <P>_NAME                  upstream's name: the tarball is <NAME>-<VERSION>.tar.gz, the tree <NAME>-<VERSION>
#   <P>_VERSION, <P>_SHA256   the pinned release and its tarball's SHA-256
#   <P>_URLS                  upstream's download addresses of the tarball
#   <P>_DEBIAN_PACKAGE, <P>_DEBIAN_SOURCE_VERSION
#                             Debian's source package whose <package>_<VERSION>.orig.tar.gz is upstream's tarball
#   <P>_TREE_MARKER           a file every extracted release tree has (how route 1 tells a tree from a tarball folder)
#   <P>_MANIFEST              the committed per-file SHA-256 list of the release tree (route 1 with a tree)
#   <P>_PATCH_DIR             the folder whose *.patch files are applied (not its sub-folders)
#
# Routes, in order (design.md, "The native source"):
#   1. <P>_SOURCE_DIR (CMake variable or environment variable): a directory holding the release tarball, or an
#      extracted release tree (then every file is checked against <P>_MANIFEST);
#   2. the cached tarball <CACHE_DIR>/<NAME>-<VERSION>.tar.gz (git-ignored);
#   3. the upstream release download;
#   4. on Debian-family machines: Debian's source package, fetched by apt with private state directories, so the
#      machine's own apt configuration is not touched.
# The SHA-256 is checked on every route; a mismatch is a hard error naming both hashes.
# The verified tree is extracted to <DEST>/<NAME>-<VERSION>, then <P>_PATCH_DIR/*.patch are applied in sorted order.
include_guard(GLOBAL)

get_filename_component(_NS_REPO_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

function(_ns_check_tarball P file)
  file(SHA256 "${file}" actual)
  if(NOT actual STREQUAL ${P}_SHA256)
    message(FATAL_ERROR
      "${${P}_NAME} source: SHA-256 mismatch for ${file}\n"
      "  expected ${${P}_SHA256}\n"
      "  actual   ${actual}\n"
      "Delete the file to fetch it again, or point ${P}_SOURCE_DIR at a genuine ${${P}_NAME}-${${P}_VERSION} release.")
  endif()
endfunction()

# An extracted tree has no single hash: every file the release contains must match the manifest.
function(_ns_check_tree P dir)
  file(STRINGS "${${P}_MANIFEST}" lines)
  foreach(line IN LISTS lines)
    string(REGEX MATCH "^([0-9a-f]+)  (.+)$" _ "${line}")
    set(expected "${CMAKE_MATCH_1}")
    set(rel "${CMAKE_MATCH_2}")
    if(NOT EXISTS "${dir}/${rel}")
      message(FATAL_ERROR "${${P}_NAME} source: ${dir} lacks ${rel}; not a ${${P}_NAME}-${${P}_VERSION} release tree")
    endif()
    file(SHA256 "${dir}/${rel}" actual)
    if(NOT actual STREQUAL expected)
      message(FATAL_ERROR
        "${${P}_NAME} source: SHA-256 mismatch for ${dir}/${rel}\n"
        "  expected ${expected}\n"
        "  actual   ${actual}")
    endif()
  endforeach()
endfunction()

function(_ns_try_download P out_ok tarball)
  foreach(url IN LISTS ${P}_URLS)
    message(STATUS "${${P}_NAME} source: downloading ${url}")
    file(DOWNLOAD "${url}" "${tarball}.part" TIMEOUT 120 INACTIVITY_TIMEOUT 20 STATUS status)
    list(GET status 0 code)
    if(code EQUAL 0)
      _ns_check_tarball(${P} "${tarball}.part")
      file(RENAME "${tarball}.part" "${tarball}")
      set(${out_ok} TRUE PARENT_SCOPE)
      return()
    endif()
    file(REMOVE "${tarball}.part")
    message(STATUS "${${P}_NAME} source: download failed (${status})")
  endforeach()
  set(${out_ok} FALSE PARENT_SCOPE)
endfunction()

# The mirror the machine already uses, from its own apt sources; never a hard-coded host.
function(_ns_debian_mirror out_uri)
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

function(_ns_try_debian P out_ok tarball)
  set(${out_ok} FALSE PARENT_SCOPE)
  set(name "${${P}_NAME}")
  find_program(APT_GET apt-get)
  if(NOT APT_GET OR NOT EXISTS /usr/share/keyrings/debian-archive-keyring.gpg)
    return()
  endif()
  _ns_debian_mirror(mirror)
  if(mirror STREQUAL "")
    message(STATUS "${name} source: no Debian mirror found in the apt sources")
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
  set(spec "${${P}_DEBIAN_PACKAGE}=${${P}_DEBIAN_SOURCE_VERSION}")
  message(STATUS "${name} source: fetching Debian source package ${spec} from ${mirror}")
  execute_process(COMMAND "${APT_GET}" ${opts} -qq update
    RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err TIMEOUT 300)
  if(rc EQUAL 0)
    execute_process(COMMAND "${APT_GET}" ${opts} -qq source --download-only "${spec}"
      WORKING_DIRECTORY "${work}/download" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err TIMEOUT 300)
  endif()
  set(orig "${work}/download/${${P}_DEBIAN_PACKAGE}_${${P}_VERSION}.orig.tar.gz")
  # Only the .orig.tar.gz is needed. A mirror may serve it and not the rest of the source package (the .dsc, the
  # .debian.tar.xz: apt then exits non-zero, as it does for libnatpmp here): the hash below decides, not apt's code.
  if(NOT EXISTS "${orig}")
    message(STATUS "${name} source: apt route failed (${rc}): ${err}")
    file(REMOVE_RECURSE "${work}")
    return()
  endif()
  # Debian's .orig.tar.gz is upstream's release tarball, byte for byte.
  _ns_check_tarball(${P} "${orig}")
  file(RENAME "${orig}" "${tarball}")
  file(REMOVE_RECURSE "${work}")
  set(${out_ok} TRUE PARENT_SCOPE)
endfunction()

function(_ns_apply_patches P tree)
  file(GLOB patches "${${P}_PATCH_DIR}/*.patch")
  list(SORT patches)
  # The tree lies inside this project's git work tree (artifacts/ is only git-ignored). There, `git apply` takes
  # the patch's paths relative to the top of the project and skips every file, successfully and silently. Stop
  # git's repository discovery above the tree, and treat any skipped file as an error.
  get_filename_component(parent "${tree}" DIRECTORY)
  foreach(p IN LISTS patches)
    message(STATUS "${${P}_NAME} source: applying ${p}")
    execute_process(COMMAND "${CMAKE_COMMAND}" -E env "GIT_CEILING_DIRECTORIES=${parent}"
                      git apply -p1 --verbose --whitespace=nowarn "${p}"
      WORKING_DIRECTORY "${tree}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0 OR "${out}${err}" MATCHES "Skipped patch")
      message(FATAL_ERROR "${${P}_NAME} source: patch ${p} does not apply: ${out}${err}")
    endif()
  endforeach()
endfunction()

# Identity of what DEST holds: the release hash plus every patch's content.
function(_ns_stamp P out)
  # "patched-by 2": trees patched before the GIT_CEILING_DIRECTORIES fix (patches silently skipped) are re-extracted.
  set(text "${${P}_SHA256}\npatched-by 2")
  file(GLOB patches "${${P}_PATCH_DIR}/*.patch")
  list(SORT patches)
  foreach(p IN LISTS patches)
    file(SHA256 "${p}" h)
    get_filename_component(n "${p}" NAME)
    string(APPEND text "\n${n} ${h}")
  endforeach()
  set(${out} "${text}\n" PARENT_SCOPE)
endfunction()

# native_obtain_source(<prefix> <out-var> [DEST <dir>] [CACHE_DIR <dir>])
function(native_obtain_source P out_var)
  cmake_parse_arguments(arg "" "DEST;CACHE_DIR" "" ${ARGN})
  if(NOT arg_DEST)
    set(arg_DEST "${_NS_REPO_ROOT}/artifacts/src")
  endif()
  if(NOT arg_CACHE_DIR)
    set(arg_CACHE_DIR "${_NS_REPO_ROOT}/native/cache")
  endif()
  set(name "${${P}_NAME}")
  set(release "${name}-${${P}_VERSION}")
  set(tree "${arg_DEST}/${release}")
  set(tarball "${arg_CACHE_DIR}/${release}.tar.gz")
  _ns_stamp(${P} stamp)

  set(user_dir "${${P}_SOURCE_DIR}")
  if(NOT user_dir AND DEFINED ENV{${P}_SOURCE_DIR})
    set(user_dir "$ENV{${P}_SOURCE_DIR}")
  endif()

  if(EXISTS "${tree}/.miniupnpnet-stamp" AND NOT user_dir)
    file(READ "${tree}/.miniupnpnet-stamp" have)
    if(have STREQUAL stamp AND EXISTS "${tarball}")
      # Already verified and patched; the cached tarball is re-checked so a corrupted cache never goes unnoticed.
      _ns_check_tarball(${P} "${tarball}")
      set(${out_var} "${tree}" PARENT_SCOPE)
      return()
    endif()
  endif()

  set(from_tree "")
  if(user_dir)
    if(EXISTS "${user_dir}/${release}.tar.gz")
      message(STATUS "${name} source: route 1, tarball in ${user_dir}")
      _ns_check_tarball(${P} "${user_dir}/${release}.tar.gz")
      file(MAKE_DIRECTORY "${arg_CACHE_DIR}")
      file(COPY_FILE "${user_dir}/${release}.tar.gz" "${tarball}")
    elseif(EXISTS "${user_dir}/${${P}_TREE_MARKER}")
      message(STATUS "${name} source: route 1, release tree ${user_dir}")
      _ns_check_tree(${P} "${user_dir}")
      set(from_tree "${user_dir}")
    else()
      message(FATAL_ERROR "${P}_SOURCE_DIR=${user_dir} holds neither ${release}.tar.gz nor a release tree")
    endif()
  elseif(EXISTS "${tarball}")
    message(STATUS "${name} source: route 2, cached ${tarball}")
    _ns_check_tarball(${P} "${tarball}")
  else()
    file(MAKE_DIRECTORY "${arg_CACHE_DIR}")
    _ns_try_download(${P} ok "${tarball}")
    if(NOT ok)
      _ns_try_debian(${P} ok "${tarball}")
    endif()
    if(NOT ok)
      message(FATAL_ERROR
        "${name} source: could not obtain ${release}.tar.gz "
        "(SHA-256 ${${P}_SHA256}). Download it by hand into ${arg_CACHE_DIR}/, "
        "or set ${P}_SOURCE_DIR to a directory holding it.")
    endif()
  endif()

  file(REMOVE_RECURSE "${tree}")
  file(MAKE_DIRECTORY "${arg_DEST}")
  if(from_tree)
    file(COPY "${from_tree}/" DESTINATION "${tree}")
  else()
    file(ARCHIVE_EXTRACT INPUT "${tarball}" DESTINATION "${arg_DEST}")
  endif()
  if(NOT EXISTS "${tree}/${${P}_TREE_MARKER}")
    message(FATAL_ERROR "${name} source: ${release}.tar.gz did not extract to ${tree}")
  endif()
  _ns_apply_patches(${P} "${tree}")
  file(WRITE "${tree}/.miniupnpnet-stamp" "${stamp}")
  set(${out_var} "${tree}" PARENT_SCOPE)
endfunction()

# Script mode of a library's file (cmake -D DEST=... [-D CACHE_DIR=...] -P cmake/<Library>Source.cmake).
macro(native_source_script_mode P)
  set(_ns_args "")
  if(DEST)
    list(APPEND _ns_args DEST "${DEST}")
  endif()
  if(CACHE_DIR)
    list(APPEND _ns_args CACHE_DIR "${CACHE_DIR}")
  endif()
  native_obtain_source(${P} _ns_tree ${_ns_args})
  message(STATUS "${${P}_NAME} source: ${_ns_tree}")
endmacro()
