/* The MPI runner of an aelab built without MPI (-DAELAB_WITH_MPI=OFF; experiment_mpi.c otherwise):
 * there is none. Started by mpirun with several processes, each one would run every job, so that
 * is refused with "not built with MPI". */
#ifndef AELAB_WITH_MPI
#include <stdlib.h>

#include "experiment_internal.h"

/* The number of processes a launcher (Open MPI, MPICH/Hydra, MVAPICH) says it started, 1 if none. */
static long launched_processes(void)
{
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v) return atol(v);
    }
    return 1;
}

int ae_exp_mpi_runner(const ae_exp_runner **r, ae_err *err)
{
    *r = NULL;
    long n = launched_processes();
    if (n > 1)
        return ae_errf(err, AE_EINPUT, "started by mpirun as one of %ld processes, but this aelab is not built "
                       "with MPI (every process would run every job): rebuild it with -DAELAB_WITH_MPI=ON, or run "
                       "the experiment without mpirun (--jobs N, --shard I/N)", n);
    return AE_OK;
}
#else
typedef int ae_experiment_mpi_stub_unused; /* built with MPI: experiment_mpi.c */
#endif
