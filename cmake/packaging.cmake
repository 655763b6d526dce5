# Debian packages (./build.sh deb, or `cpack -G DEB` in a build folder):
#   libvow-dev  headers, static libraries, the CMake package and pkg-config files
#   vow-get     the command (when VOW_BUILD_HTTP)
set(CPACK_PACKAGE_NAME vow)
set(CPACK_PACKAGE_VENDOR "vow")
set(CPACK_PACKAGE_CONTACT "vow maintainers <vow@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "C++20 futures, executors and combinators, with an HTTP downloader")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_STRIP_FILES ON)  # debug information stays in the build, as Debian's own packages do

set(CPACK_COMPONENTS_ALL dev)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libvow-dev)
# The synopsis line of both is CPACK_PACKAGE_DESCRIPTION_SUMMARY; these are
# the lines under it.
set(CPACK_DEBIAN_DEV_DESCRIPTION "Development files: headers, static libraries, the CMake package (find_package(vow), COMPONENTS http)
and pkg-config files (vow, vow-http).")
# The static libraries are linked by the user's program: it needs a C++20
# compiler's standard library, and for vow::http the Boost.URL, OpenSSL and
# zlib development packages.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libstdc++-12-dev")

if(VOW_BUILD_HTTP)
  list(APPEND CPACK_COMPONENTS_ALL vow-get)
  string(APPEND CPACK_DEBIAN_DEV_PACKAGE_DEPENDS ", libboost-url1.81-dev, libboost1.81-dev, libssl-dev, zlib1g-dev")
  set(CPACK_DEBIAN_VOW-GET_PACKAGE_NAME vow-get)
  set(CPACK_DEBIAN_VOW-GET_PACKAGE_SECTION web)
  set(CPACK_DEBIAN_VOW-GET_PACKAGE_SHLIBDEPS ON)  # Depends: from the libraries it links (OpenSSL, Boost)
  set(CPACK_DEBIAN_VOW-GET_DESCRIPTION "vow-get, the command: downloads URLs in parallel with progress bars, typed errors, timeouts, retries
that resume partial files, and verified TLS. vow-get --demo shows it against a
local fault-injecting server.")
endif()

include(CPack)
