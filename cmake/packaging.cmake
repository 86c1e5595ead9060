# Debian packages from the install components (cpack -G DEB, run by scripts/build-debs).
# One package per component, so a handler's unit tests need only the -dev package and a
# CI job that only runs scenarios needs only the tool.
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev tool)
if(TH_PYTHON)
  list(APPEND CPACK_COMPONENTS_ALL python)
endif()
set(CPACK_PACKAGE_NAME tcmu-harness)
set(CPACK_PACKAGE_VENDOR "tcmu-harness developers")
set(CPACK_PACKAGE_CONTACT "tcmu-harness developers <tcmu-harness@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "scripted faulty SCSI devices for testing initiators")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.invalid/tcmu-harness")
set(_th_ver "${PROJECT_VERSION}-1")

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libtcmu-harness0)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
# dpkg-shlibdeps computes libc6/libyaml-0-2 from the library itself.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
# A shlibs file, so packages built against the library depend on it (dpkg-shlibdeps).
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION
  "tcmu-harness library: virtual SCSI devices with scripted faults over Linux TCMU\n The shared library behind the tcmu-harness tool and handler unit tests.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libtcmu-harness-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libtcmu-harness0 (= ${_th_ver}), libyaml-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS "libcriterion-dev, pkg-config")
set(CPACK_DEBIAN_DEV_DESCRIPTION
  "tcmu-harness library: development files\n Headers, static library, pkg-config file and CMake package for unit-testing\n SCSI handlers with fake commands.")

set(CPACK_DEBIAN_TOOL_PACKAGE_NAME tcmu-harness)
set(CPACK_DEBIAN_TOOL_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_TOOL_PACKAGE_SHLIBDEPS ON)
# What the VM runner needs at run time: QEMU, a static busybox for the initramfs, kmod in
# the guest, apt to fetch the guest kernel, xz for modules, sg3-utils and python3 for the
# installed scenarios' tools.
set(CPACK_DEBIAN_TOOL_PACKAGE_DEPENDS
  "qemu-system-x86, busybox-static, kmod, apt, xz-utils, sg3-utils, python3")
set(CPACK_DEBIAN_TOOL_PACKAGE_RECOMMENDS "fio, mt-st, libiscsi-bin")
set(CPACK_DEBIAN_TOOL_DESCRIPTION
  "throwaway virtual SCSI devices with scripted faults\n Runs scenario files against the Linux sd/st/sg drivers and iSCSI initiators,\n natively or in a throwaway QEMU guest with Debian's kernel.")

set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-tcmu-harness)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
set(CPACK_DEBIAN_PYTHON_PACKAGE_ARCHITECTURE all)
# Architecture all: a version range, not "=", so a binNMU of the tool keeps it installable.
set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS
  "python3, tcmu-harness (>= ${PROJECT_VERSION}), tcmu-harness (<< ${PROJECT_VERSION}.1~)")
set(CPACK_DEBIAN_PYTHON_PACKAGE_SUGGESTS "python3-pytest")
set(CPACK_DEBIAN_PYTHON_DESCRIPTION
  "tcmu-harness Python client and pytest plugin\n Fixtures tcmu_disk/tcmu_tape over the control channel, kernel-log verdicts per test.")

# /usr/share/doc/<package>/copyright for each package (Debian policy 12.5).
foreach(_c runtime dev tool python)
  string(TOUPPER ${_c} _C)
  install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/cmake/debian-copyright RENAME copyright
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${CPACK_DEBIAN_${_C}_PACKAGE_NAME}
    COMPONENT ${_c})
endforeach()

include(CPack)
