/* mjit_config.h (compatibility): what CRuby's configure writes on Linux, with the compiler
 * the host chose (--mjit-cc; the compiler shim in the harness) filled in at run time. */
#ifndef RUBY_MJIT_CONFIG_H
#define RUBY_MJIT_CONFIG_H 1
extern char pmj_cc_path[];
#define MJIT_HEADER_INSTALL_DIR ""
#define MJIT_MIN_HEADER_NAME "pytest_mjit_host.h"
#define MJIT_CC_COMMON pmj_cc_path,
#define MJIT_CFLAGS "-w",
#define MJIT_OPTFLAGS "-O2",
#define MJIT_DEBUGFLAGS "-O0", "-g",
#define MJIT_LDSHARED pmj_cc_path, "-shared",
#define MJIT_DLDFLAGS
#define MJIT_LIBS
#endif
