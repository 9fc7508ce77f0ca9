/* The subcommands of the aelab command line that live outside cli/aelab.c. */
#ifndef AELAB_CLI_H
#define AELAB_CLI_H

/* aelab export RUN_DIR ... and aelab encode RUN_DIR ... (argv[1] names which); the exit code. */
int aelab_export_command(int argc, char **argv);

#endif
