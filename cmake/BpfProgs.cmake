# hourglass_bpf_objects(TARGET OUT_DIR SOURCES...): compiles BPF C sources with the installed
# clang (-O2 -g -target bpf) into OUT_DIR/<name>.bpf.o at build time; TARGET depends on them all.
find_program(BPF_CLANG NAMES clang-14 clang REQUIRED)
set(HOURGLASS_BPF_INCLUDE ${CMAKE_SOURCE_DIR}/tests/progs/include)

function(hourglass_bpf_objects target out_dir)
  set(outputs)
  foreach(src ${ARGN})
    get_filename_component(abs ${src} ABSOLUTE)
    get_filename_component(name ${src} NAME_WE)
    set(out ${out_dir}/${name}.bpf.o)
    add_custom_command(OUTPUT ${out}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
      COMMAND ${BPF_CLANG} -O2 -g -target bpf -mcpu=v3
              -I/usr/include/x86_64-linux-gnu -I${HOURGLASS_BPF_INCLUDE}
              -Wall -Wno-unused-function -MD -MF ${out}.d -c ${abs} -o ${out}
      DEPENDS ${abs}
      DEPFILE ${out}.d  # included headers and .c files (bench_scale_10m includes bench_scale)
      COMMENT "BPF ${name}.bpf.o"
      VERBATIM)
    list(APPEND outputs ${out})
  endforeach()
  add_custom_target(${target} ALL DEPENDS ${outputs})
endfunction()
