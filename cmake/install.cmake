# Where a system daemon lives: the units, the config and the man pages agree on
# these paths, so the default prefix is /usr (an install to /usr/local puts
# everything there, the units rewritten to match).
include(GNUInstallDirs)

# The units name the binary and the config directory: rewritten for this prefix.
set(MPT_UNITS mptrace.service mptrace.socket mptrace-ship.service)
foreach(unit ${MPT_UNITS})
  file(READ ${PROJECT_SOURCE_DIR}/packaging/${unit} text)
  string(REPLACE "/usr/sbin/mptrace" "${CMAKE_INSTALL_FULL_SBINDIR}/mptrace" text "${text}")
  string(REPLACE "/etc/mptrace" "${CMAKE_INSTALL_FULL_SYSCONFDIR}/mptrace" text "${text}")
  file(WRITE ${CMAKE_BINARY_DIR}/packaging/${unit} "${text}")
endforeach()

# Man pages from --help, so they never say other than the binary: mptrace(8) and
# one per command, with the sections --help has no room for (docs/man/*.h2m).
find_program(HELP2MAN help2man REQUIRED)
set(MPT_MAN_trace "trace every page-migration syscall on the host")
set(MPT_MAN_probe "say which attach modes this kernel supports, and why the others do not")
set(MPT_MAN_replay "print the events of captures, or of a NATS stream, as live tracing printed them")
set(MPT_MAN_report "one self-contained HTML page of what captures hold")
set(MPT_MAN_verify "check the checksums and the hash chain of captures")
set(MPT_MAN_capture-info "say what a capture file holds")
set(MPT_MAN_ship "publish captures to NATS JetStream, exactly once and in order")
set(MPT_MAN_PAGES)
foreach(cmd trace probe replay report verify capture-info ship)
  if(cmd STREQUAL "trace")
    set(page mptrace)
  else()
    set(page mptrace-${cmd})
  endif()
  add_custom_command(
    OUTPUT ${CMAKE_BINARY_DIR}/man/${page}.8 ${CMAKE_BINARY_DIR}/man/${page}.8.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND ${CMAKE_COMMAND} -DMPTRACE=$<TARGET_FILE:mptrace> -DCMD=${cmd} -DPAGE=${page}
            "-DNAME=${MPT_MAN_${cmd}}" -DINCLUDE=${PROJECT_SOURCE_DIR}/docs/man/${page}.h2m
            -DOUT=${CMAKE_BINARY_DIR}/man/${page}.8 -DVERSION=${PROJECT_VERSION}
            -P ${PROJECT_SOURCE_DIR}/cmake/man.cmake
    DEPENDS mptrace ${PROJECT_SOURCE_DIR}/docs/man/${page}.h2m ${PROJECT_SOURCE_DIR}/cmake/man.cmake
    VERBATIM)
  list(APPEND MPT_MAN_PAGES ${CMAKE_BINARY_DIR}/man/${page}.8.gz)
endforeach()
add_custom_target(man ALL DEPENDS ${MPT_MAN_PAGES})

install(TARGETS mptrace RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
list(TRANSFORM MPT_UNITS PREPEND ${CMAKE_BINARY_DIR}/packaging/ OUTPUT_VARIABLE MPT_UNIT_FILES)
install(FILES ${MPT_UNIT_FILES} DESTINATION lib/systemd/system)
install(FILES packaging/mptrace.sysusers.conf DESTINATION lib/sysusers.d RENAME mptrace.conf)
install(FILES packaging/mptrace.conf packaging/ship.conf
        DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/mptrace)
install(FILES ${MPT_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES packaging/mptrace.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME mptrace)
install(FILES README.md CHANGELOG.md LICENSE LICENSES/LGPL-2.1.txt LICENSES/BSD-2-Clause.txt
              docs/guide.md docs/operating.md docs/detections.md docs/fleet.md
              docs/capture-format.md docs/hacking.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# A .deb of the same install (cpack -G DEB in the build directory; scripts/package.sh).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mptrace)
set(CPACK_PACKAGE_VENDOR "the mptrace authors")
set(CPACK_PACKAGE_CONTACT "mptrace maintainers <mptrace@invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "trace every page-migration syscall (move_pages, migrate_pages) with eBPF")
set(CPACK_PACKAGE_DESCRIPTION
    "mptrace records every move_pages(2) and migrate_pages(2) call on the host with its arguments, the arrays behind them, who called and what the kernel did, and flags suspicious use. Outputs: JSON, OCSF, a table, hash-chained captures, NATS JetStream; Prometheus metrics.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# --metrics loads libmicrohttpd at run time, where shlibdeps cannot see it
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd, ${MPT_MHD_DEB}")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/deb/postinst ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
    ${PROJECT_SOURCE_DIR}/packaging/deb/postrm ${PROJECT_SOURCE_DIR}/packaging/deb/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
