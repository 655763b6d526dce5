# Installs the build tree into a scratch prefix, then builds and runs programs
# against it as users would:
#   core/  find_package(vow CONFIG) with Boost and OpenSSL hidden from CMake
#          (the core package must not look for them), and examples/hedge.cpp
#   http/  find_package(vow CONFIG COMPONENTS http)          (WITH_HTTP only)
#   the same two programs with `pkg-config --cflags --libs vow` / `vow-http`
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message("${out}")
endfunction()

# consumer NAME CMAKE_ARGS...: configure, build and run CONSUMER_SOURCE_DIR/NAME.
function(consumer name)
  run_step(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR}/${name} -B ${WORK_DIR}/${name}
           -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
           "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" ${ARGN})
  run_step(${CMAKE_COMMAND} --build ${WORK_DIR}/${name})
endfunction()

# pkg_config_consumer NAME PACKAGE: compile NAME/main.cpp with pkg-config's flags only.
function(pkg_config_consumer name package)
  set(ENV{PKG_CONFIG_PATH} ${prefix}/${LIBDIR}/pkgconfig)
  execute_process(COMMAND pkg-config --cflags --libs ${package} RESULT_VARIABLE rc
                  OUTPUT_VARIABLE flags ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config ${package} failed: ${err}")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  separate_arguments(cxx_flags UNIX_COMMAND "${CXX_FLAGS}")
  set(exe ${WORK_DIR}/pkg-config-${name})
  run_step(${CMAKE_CXX_COMPILER} -std=c++20 ${cxx_flags} ${CONSUMER_SOURCE_DIR}/${name}/main.cpp ${flags} -o ${exe})
  run_step(${exe})
endfunction()

run_step(${CMAKE_COMMAND} --install ${VOW_BINARY_DIR} --prefix ${prefix})

consumer(core -DCMAKE_DISABLE_FIND_PACKAGE_Boost=ON -DCMAKE_DISABLE_FIND_PACKAGE_OpenSSL=ON
         -DVOW_EXAMPLES_DIR=${EXAMPLES_DIR})
run_step(${WORK_DIR}/core/consumer)
run_step(${WORK_DIR}/core/hedge_example)
pkg_config_consumer(core vow)

if(WITH_HTTP)
  consumer(http)
  run_step(${WORK_DIR}/http/consumer_http)
  pkg_config_consumer(http vow-http)
endif()
