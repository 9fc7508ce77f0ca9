# What `cmake --install BUILD --prefix P` puts under P (included by CMakeLists.txt): bin/aelab (on
# libaelab.so), lib/libaelab.so and .a, include/aelab/, lib/pkgconfig/aelab.pc, lib/cmake/aelab/
# (find_package(aelab CONFIG): aelab::aelab, aelab::aelab_static), share/aelab/{examples,configs},
# share/man/man1/aelab.1 (made from `aelab --help`) and share/bash-completion/completions/aelab.
# A library built with AELAB_NATIVE=ON runs only on CPUs like the build machine's: packages build
# with -DAELAB_NATIVE=OFF (the CMake package records it as aelab_NATIVE).
include(CMakePackageConfigHelpers)

# The installed aelab: the same program linked to libaelab.so (built as BUILD/shared/aelab), so a
# plug-in linked to libaelab.so (pkg-config, find_package) shares the one copy of the library.
file(RELATIVE_PATH AELAB_BIN_TO_LIB /p/${CMAKE_INSTALL_BINDIR} /p/${CMAKE_INSTALL_LIBDIR})
add_executable(aelab_cli_shared ${AELAB_CLI_SOURCES})
set_target_properties(aelab_cli_shared PROPERTIES OUTPUT_NAME aelab RUNTIME_OUTPUT_DIRECTORY
                      ${CMAKE_BINARY_DIR}/shared INSTALL_RPATH "$ORIGIN/${AELAB_BIN_TO_LIB}")
target_link_libraries(aelab_cli_shared PRIVATE aelab_shared)

# The man page, written from `aelab --help` (and each command's own --help) at build time.
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/aelab.1
                   COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/man_page.sh $<TARGET_FILE:aelab_cli>
                           "${PROJECT_DESCRIPTION}" ${CMAKE_BINARY_DIR}/aelab.1
                   DEPENDS aelab_cli ${CMAKE_SOURCE_DIR}/scripts/man_page.sh VERBATIM)
add_custom_target(aelab_man ALL DEPENDS ${CMAKE_BINARY_DIR}/aelab.1)

# pkg-config: relocatable (paths from the .pc file's own folder), so --prefix may change at install.
file(RELATIVE_PATH AELAB_PC_TO_PREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
string(REGEX REPLACE "/$" "" AELAB_PC_TO_PREFIX "${AELAB_PC_TO_PREFIX}")
set(AELAB_PC_LIBS_PRIVATE "-ldnnl -lm")
foreach(l ${CMAKE_DL_LIBS})
  string(APPEND AELAB_PC_LIBS_PRIVATE " -l${l}")
endforeach()
if(OpenMP_C_FOUND)
  string(APPEND AELAB_PC_LIBS_PRIVATE " ${OpenMP_C_FLAGS}")
  set(AELAB_HAS_OPENMP ON)
else()
  set(AELAB_HAS_OPENMP OFF)
endif()
if(AELAB_WITH_MPI)
  list(JOIN MPI_C_LIBRARIES " " mpi_libs)
  string(APPEND AELAB_PC_LIBS_PRIVATE " ${mpi_libs} -pthread")
endif()
configure_file(cmake/aelab.pc.in ${CMAKE_BINARY_DIR}/aelab.pc @ONLY)
configure_file(cmake/aelabConfig.cmake.in ${CMAKE_BINARY_DIR}/aelabConfig.cmake @ONLY)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/aelabConfigVersion.cmake COMPATIBILITY SameMinorVersion)

install(TARGETS aelab_cli_shared RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS aelab_shared aelab EXPORT aelabTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/aelab/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/aelab FILES_MATCHING PATTERN "*.h")
install(EXPORT aelabTargets NAMESPACE aelab:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/aelab)
install(FILES ${CMAKE_BINARY_DIR}/aelabConfig.cmake ${CMAKE_BINARY_DIR}/aelabConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/aelab)
install(FILES ${CMAKE_BINARY_DIR}/aelab.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(FILES plugins/ortho.c DESTINATION ${CMAKE_INSTALL_DATADIR}/aelab/examples)
install(DIRECTORY configs/ DESTINATION ${CMAKE_INSTALL_DATADIR}/aelab/configs)
install(FILES ${CMAKE_BINARY_DIR}/aelab.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES cli/aelab.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME aelab)
