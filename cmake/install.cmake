# What `cmake --install` puts where. Components, for packaging: runtime (the shared
# library), dev (headers, static library, pkg-config and CMake package), tool (the CLI and
# the example scenarios), python (the Python package and pytest plugin). Every path below
# is relative to the prefix, so `cmake --install B --prefix P` relocates all of it.
include(CMakePackageConfigHelpers)

set(TH_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tcmu-harness)
set(TH_DATA_DIR ${CMAKE_INSTALL_DATADIR}/tcmu-harness)

install(TARGETS tcmu-harness-shared EXPORT tcmu-harness-targets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev)
# The installed static library is not the in-tree one (whose internals the CLI and the
# unit tests call): its objects are linked into one relocatable object and every hidden
# symbol in it made local, so only the th_ API the headers declare stays global and a
# user's own ctl_*, sc_* or tape_truncate cannot clash with ours.
set(th_static_dir ${CMAKE_CURRENT_BINARY_DIR}/install-static)
set(th_static_obj ${th_static_dir}/tcmu-harness.o)
set(th_static_lib ${th_static_dir}/libtcmu-harness.a)
add_custom_command(OUTPUT ${th_static_lib}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${th_static_dir}
  COMMAND ${CMAKE_COMMAND} -E rm -f ${th_static_lib}
  COMMAND ${CMAKE_LINKER} -r -o ${th_static_obj} $<TARGET_OBJECTS:th-objects>
  COMMAND ${CMAKE_OBJCOPY} --localize-hidden ${th_static_obj}
  COMMAND ${CMAKE_AR} qc ${th_static_lib} ${th_static_obj}
  COMMAND ${CMAKE_RANLIB} ${th_static_lib}
  DEPENDS $<TARGET_OBJECTS:th-objects> COMMAND_EXPAND_LISTS VERBATIM
  COMMENT "Linking the installed static library (only th_ symbols global)")
add_custom_target(tcmu-harness-install-static ALL DEPENDS ${th_static_lib})
add_dependencies(tcmu-harness-install-static th-objects)
install(FILES ${th_static_lib} DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(DIRECTORY framework/include/th DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev
  FILES_MATCHING PATTERN "*.h")

# find_package(tcmu-harness): tcmu-harness::tcmu-harness (shared, exported) and
# tcmu-harness::tcmu-harness-static (the archive above, imported by the config file).
install(EXPORT tcmu-harness-targets NAMESPACE tcmu-harness:: FILE tcmu-harness-targets.cmake
  DESTINATION ${TH_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(cmake/tcmu-harness-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/tcmu-harness-config.cmake INSTALL_DESTINATION ${TH_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_INCLUDEDIR)
# The SONAME changes with the major version; so does what a package of it promises.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/tcmu-harness-config-version.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tcmu-harness-config.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/tcmu-harness-config-version.cmake
  DESTINATION ${TH_CMAKE_DIR} COMPONENT dev)

# pkg-config: the prefix from where the .pc file is, so a relocated install still works.
file(RELATIVE_PATH TH_PC_UP ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" TH_PC_UP "${TH_PC_UP}")
set(TH_PC_PREFIX "\${pcfiledir}/${TH_PC_UP}")
# Configured for /usr (distribution packages): the plain prefix, so pkg-config recognises
# /usr/include and the system libdir and leaves them out of --cflags/--libs.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(TH_PC_PREFIX /usr)
endif()
configure_file(cmake/tcmu-harness.pc.in ${CMAKE_CURRENT_BINARY_DIR}/tcmu-harness.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tcmu-harness.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

install(TARGETS tcmu-harness-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tool)
# The example scenarios and the tools they run (found through $TH_SCENARIO_DIR).
install(DIRECTORY scenarios/ DESTINATION ${TH_DATA_DIR}/scenarios COMPONENT tool
  USE_SOURCE_PERMISSIONS PATTERN "__pycache__" EXCLUDE)

option(TH_PYTHON "Install the Python package and its pytest plugin" ON)
if(TH_PYTHON)
  # Debian's places, chosen at install time for the prefix being installed to (so
  # `cmake --install B --prefix /usr` of a tree configured for /usr/local lands where
  # /usr/bin/python3 looks): lib/python3/dist-packages under /usr, lib/python3.N/dist-packages
  # under any other prefix, N the system python3's (/usr/bin/python3, not whichever is
  # first on PATH) when there is one.
  # A build tree configured before this kept the configure-time choice in the cache (with
  # the old help text): forget it, so the choice is made at install time there too.
  get_property(th_py_help CACHE TH_PYTHON_DIR PROPERTY HELPSTRING)
  if(th_py_help STREQUAL "Where the Python package goes (relative: to the prefix)"
     AND TH_PYTHON_DIR MATCHES "^lib/python3(\\.[0-9]+)?/dist-packages$")
    unset(TH_PYTHON_DIR CACHE)
  endif()
  set(TH_PYTHON_DIR "" CACHE STRING
    "Where the Python package goes (relative: to the prefix; empty: Debian's place for it)")
  if(EXISTS /usr/bin/python3)
    execute_process(COMMAND /usr/bin/python3 -c
      "import sys; print('%d.%d' % sys.version_info[:2])"
      OUTPUT_VARIABLE TH_PY_VERSION OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  else()
    find_package(Python3 COMPONENTS Interpreter REQUIRED)
    set(TH_PY_VERSION ${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR})
  endif()
  file(GLOB TH_PY_FILES CONFIGURE_DEPENDS python/tcmu_harness/*.py)
  list(APPEND TH_PY_FILES ${CMAKE_CURRENT_SOURCE_DIR}/python/tcmu_harness/py.typed)
  # A dist-info, so importlib.metadata sees the package and pytest loads the plugin
  # through its pytest11 entry point (the same name as python/pyproject.toml's).
  set(TH_PY_DIST ${CMAKE_CURRENT_BINARY_DIR}/tcmu_harness-${PROJECT_VERSION}.dist-info)
  file(WRITE ${TH_PY_DIST}/METADATA "Metadata-Version: 2.1\nName: tcmu-harness\n"
    "Version: ${PROJECT_VERSION}\nSummary: Virtual SCSI disks and tapes with scripted faults "
    "on the real Linux kernel (TCMU), and a pytest plugin\nRequires-Python: >=3.9\n")
  file(WRITE ${TH_PY_DIST}/entry_points.txt "[pytest11]\ntcmu_harness.plugin = tcmu_harness.plugin\n")
  file(WRITE ${TH_PY_DIST}/top_level.txt "tcmu_harness\n")
  file(WRITE ${TH_PY_DIST}/INSTALLER "cmake\n")
  configure_file(cmake/install-python.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/install-python.cmake
    @ONLY)
  install(SCRIPT ${CMAKE_CURRENT_BINARY_DIR}/install-python.cmake COMPONENT python)
endif()
