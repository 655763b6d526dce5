# What `cmake --install` puts beside the libraries and headers: the CMake
# package (vow::vow, and the `http` component only when asked for) and the
# pkg-config files vow.pc and vow-http.pc.
install(EXPORT vow-targets NAMESPACE vow:: DESTINATION ${VOW_CMAKE_DIR} COMPONENT dev)
if(VOW_BUILD_HTTP)
  install(EXPORT vow-http-targets NAMESPACE vow:: DESTINATION ${VOW_CMAKE_DIR} COMPONENT dev)
endif()
configure_package_config_file(cmake/vowConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/vowConfig.cmake INSTALL_DESTINATION ${VOW_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/vowConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/vowConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/vowConfigVersion.cmake
        DESTINATION ${VOW_CMAKE_DIR} COMPONENT dev)

# pkg-config: paths relative to the .pc file (${pcfiledir}), so the files stay
# right in any prefix, a Debian package's /usr included.
set(VOW_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH VOW_PC_TO_PREFIX /prefix/${VOW_PC_DIR} /prefix)
configure_file(cmake/vow.pc.in ${CMAKE_CURRENT_BINARY_DIR}/vow.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/vow.pc DESTINATION ${VOW_PC_DIR} COMPONENT dev)
if(VOW_BUILD_HTTP)
  configure_file(cmake/vow-http.pc.in ${CMAKE_CURRENT_BINARY_DIR}/vow-http.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/vow-http.pc DESTINATION ${VOW_PC_DIR} COMPONENT dev)
endif()
