# Copies the installed miniupnpc shared library into OUTPUT_DIR under the name the binding loads
# (libminiupnpc.so / .dylib / .dll), resolving symlinks, and upstream's upnpc (the reference tool) into OUTPUT_DIR/tools.
cmake_minimum_required(VERSION 3.20)
file(MAKE_DIRECTORY "${OUTPUT_DIR}/tools")

file(GLOB candidates
  "${INSTALL_DIR}/lib/libminiupnpc.so"
  "${INSTALL_DIR}/lib/libminiupnpc.dylib"
  "${INSTALL_DIR}/bin/libminiupnpc.dll"
  "${INSTALL_DIR}/bin/miniupnpc.dll")
list(LENGTH candidates n)
if(NOT n EQUAL 1)
  message(FATAL_ERROR "expected one miniupnpc shared library under ${INSTALL_DIR}, found: ${candidates}")
endif()
file(REAL_PATH "${candidates}" library)
get_filename_component(ext "${candidates}" LAST_EXT)
file(REMOVE "${OUTPUT_DIR}/libminiupnpc${ext}")
file(COPY_FILE "${library}" "${OUTPUT_DIR}/libminiupnpc${ext}")

foreach(exe upnpc-static upnpc-static.exe)
  if(EXISTS "${INSTALL_DIR}/bin/${exe}")
    string(REPLACE "-static" "" name "${exe}")
    file(COPY_FILE "${INSTALL_DIR}/bin/${exe}" "${OUTPUT_DIR}/tools/${name}")
  endif()
endforeach()
message(STATUS "staged ${OUTPUT_DIR}/libminiupnpc${ext}")
