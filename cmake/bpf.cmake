# bpf_object(NAME SOURCE [DEPENDS header...])
#
# Compiles SOURCE with clang for the BPF target (CO-RE: -g keeps the BTF that
# relocations need), links it with bpftool (as libbpf-bootstrap does: the
# object keeps its BTF and line info and sheds the DWARF the skeleton would
# otherwise embed and the tracer hold in memory), generates a libbpf skeleton
# NAME.skel.h with bpftool, and
# exposes an INTERFACE target NAME_skel whose include path holds the skeleton.
# Headers shared with user space are listed in DEPENDS so an ABI change
# rebuilds the object and the skeleton.

find_program(BPF_CLANG NAMES clang clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|amd64")
  set(BPF_TARGET_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(BPF_TARGET_ARCH arm64)
else()
  message(FATAL_ERROR "mptrace: unsupported architecture ${CMAKE_SYSTEM_PROCESSOR}")
endif()

function(bpf_object name src)
  cmake_parse_arguments(BPF "" "" "DEPENDS;INCLUDES" ${ARGN})
  set(obj ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.o)
  set(skel_dir ${CMAKE_CURRENT_BINARY_DIR}/skel)
  set(skel ${skel_dir}/${name}.skel.h)
  set(incs)
  foreach(dir ${BPF_INCLUDES})
    list(APPEND incs -I${dir})
  endforeach()

  set(compiled ${CMAKE_CURRENT_BINARY_DIR}/${name}.debug.bpf.o)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${BPF_TARGET_ARCH}
            -Wall -Wextra -Wno-unused-parameter -Werror ${incs}
            -c ${CMAKE_CURRENT_SOURCE_DIR}/${src} -o ${compiled}
    COMMAND ${BPFTOOL} gen object ${obj} ${compiled}
    DEPENDS ${src} ${BPF_DEPENDS}
    COMMENT "BPF ${src}"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${skel_dir}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}
    DEPENDS ${obj}
    COMMENT "skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skel_gen DEPENDS ${skel})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${skel_dir})
endfunction()
