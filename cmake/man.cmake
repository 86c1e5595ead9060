# Man pages tcmu-harness(1) and tcmu-harness-scenario(5), rendered at build time from the
# Markdown sources in the tree (so the pages and the docs cannot drift apart) into
# build/man/, installed with the tool.
include(GNUInstallDirs)
find_package(Python3 REQUIRED COMPONENTS Interpreter)
# Debian installs man pages compressed (policy 12.1); scripts/build-debs turns this on.
option(TH_MAN_GZIP "Install the man pages gzip-compressed" OFF)

set(TH_MAN_DIR ${CMAKE_CURRENT_BINARY_DIR}/man)
set(TH_MAN_PAGES)
# name;section;source;summary
set(TH_MAN_1 "tcmu-harness;1;${CMAKE_CURRENT_SOURCE_DIR}/docs/man/tcmu-harness.1.md;throwaway virtual SCSI devices with scripted misbehaviour")
set(TH_MAN_5 "tcmu-harness-scenario;5;${CMAKE_CURRENT_SOURCE_DIR}/docs/scenario-format.md;scenario files of tcmu-harness")
foreach(page TH_MAN_1 TH_MAN_5)
  list(GET ${page} 0 name)
  list(GET ${page} 1 section)
  list(GET ${page} 2 src)
  list(GET ${page} 3 summary)
  set(out ${TH_MAN_DIR}/${name}.${section})
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${TH_MAN_DIR}
    COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/scripts/md2man.py ${src} ${out}
            --name ${name} --section ${section} --version ${PROJECT_VERSION}
            --summary "${summary}"
    DEPENDS ${src} ${CMAKE_CURRENT_SOURCE_DIR}/scripts/md2man.py
    COMMENT "Rendering man page ${name}(${section})" VERBATIM)
  list(APPEND TH_MAN_PAGES ${out})
  if(TH_MAN_GZIP)
    add_custom_command(OUTPUT ${out}.gz
      COMMAND sh -c "gzip -9n -c '${out}' > '${out}.gz'" DEPENDS ${out} VERBATIM)
    list(APPEND TH_MAN_PAGES ${out}.gz)
    set(out ${out}.gz)
  endif()
  install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section} COMPONENT tool)
endforeach()
add_custom_target(man ALL DEPENDS ${TH_MAN_PAGES})
