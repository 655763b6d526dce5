# Builds the Debian packages of this build with CPack into a scratch folder and
# checks what they hold (dpkg-deb -c) and declare (dpkg-deb -I).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run_step out_var)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

function(expect text pattern what)
  if(NOT text MATCHES "${pattern}")
    message(FATAL_ERROR "${what}: no match for '${pattern}' in:\n${text}")
  endif()
endfunction()

function(expect_not text pattern what)
  if(text MATCHES "${pattern}")
    message(FATAL_ERROR "${what}: unexpected '${pattern}' in:\n${text}")
  endif()
endfunction()

# gzip: the contents are what is tested, and xz takes a minute more.
run_step(ignored cpack -G DEB -B ${WORK_DIR} -D CPACK_DEBIAN_COMPRESSION_TYPE=gzip
         --config ${VOW_BINARY_DIR}/CPackConfig.cmake)

file(GLOB dev_deb ${WORK_DIR}/libvow-dev_*.deb)
if(NOT dev_deb)
  message(FATAL_ERROR "no libvow-dev package in ${WORK_DIR}")
endif()
run_step(files dpkg-deb -c ${dev_deb})
expect("${files}" "/usr/include/vow/future\\.hpp" "libvow-dev")
expect("${files}" "/usr/lib/[^ ]*libvow\\.a" "libvow-dev")
expect("${files}" "/usr/lib/[^ ]*cmake/vow/vowConfig\\.cmake" "libvow-dev")
expect("${files}" "/usr/lib/[^ ]*pkgconfig/vow\\.pc" "libvow-dev")
expect_not("${files}" "/usr/bin/" "libvow-dev")
run_step(info dpkg-deb -I ${dev_deb})
expect("${info}" "Package: libvow-dev" "libvow-dev")
expect("${info}" "Depends:[^\n]*libstdc\\+\\+-12-dev" "libvow-dev")

if(WITH_HTTP)
  expect("${files}" "/usr/include/vow/http/client\\.hpp" "libvow-dev")
  expect("${files}" "/usr/lib/[^ ]*libvow_http\\.a" "libvow-dev")
  expect("${files}" "/usr/lib/[^ ]*pkgconfig/vow-http\\.pc" "libvow-dev")
  expect("${info}" "Depends:[^\n]*libssl-dev" "libvow-dev")
  expect("${info}" "Depends:[^\n]*libboost-url1\\.81-dev" "libvow-dev")

  file(GLOB get_deb ${WORK_DIR}/vow-get_*.deb)
  if(NOT get_deb)
    message(FATAL_ERROR "no vow-get package in ${WORK_DIR}")
  endif()
  run_step(files dpkg-deb -c ${get_deb})
  expect("${files}" "/usr/bin/vow-get" "vow-get")
  expect_not("${files}" "/usr/include" "vow-get")
  run_step(info dpkg-deb -I ${get_deb})
  expect("${info}" "Package: vow-get" "vow-get")
  # Found by dpkg-shlibdeps from the libraries the binary links.
  expect("${info}" "Depends:[^\n]*libssl3" "vow-get")
  expect("${info}" "Depends:[^\n]*libboost-url1\\.81\\.0" "vow-get")
endif()
