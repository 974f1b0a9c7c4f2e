# One man page from --help (cmake -P): help2man, then the page named for its command
# (help2man names every page after the binary). -DMPTRACE -DCMD -DPAGE -DNAME
# -DINCLUDE -DOUT -DVERSION
set(ENV{ARGP_HELP_FMT} "rmargin=300") # argp's wrapping would split the examples' lines
if(CMD STREQUAL "trace")
  set(help_opt --help)
else()
  set(help_opt "${CMD} --help")
endif()
execute_process(
  COMMAND help2man --no-info --section 8 --source "mptrace ${VERSION}" --help-option "${help_opt}"
          --version-option --version --name "${NAME}" --include ${INCLUDE} --output ${OUT}
          ${MPTRACE}
  RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "help2man failed for ${PAGE}")
endif()
file(READ ${OUT} text)
string(TOUPPER ${PAGE} upper)
string(REPLACE ".TH MPTRACE " ".TH ${upper} " text "${text}")
string(REPLACE "mptrace \\- ${NAME}" "${PAGE} \\- ${NAME}" text "${text}")
file(WRITE ${OUT} "${text}")
# installed compressed, as Debian's policy asks (-n: no name or time, the same bytes each build)
execute_process(COMMAND gzip -9nkf ${OUT} RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "gzip failed for ${PAGE}")
endif()
