/* Open MPI's handles are macros with casts (MPI_COMM_WORLD is ((MPI_Comm) &ompi_mpi_comm_world)),
   which Swift cannot import: these accessors hand them over as values. Only
   FFCEngine/Distributed/MPICommunicator.swift includes this module. */
#ifndef FFC_CMPI_SHIM_H
#define FFC_CMPI_SHIM_H
#include <mpi.h>
#include <stdlib.h>

static inline MPI_Comm ffc_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype ffc_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype ffc_mpi_int64(void) { return MPI_INT64_T; }
static inline int ffc_mpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline void *ffc_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int ffc_mpi_max_processor_name(void) { return MPI_MAX_PROCESSOR_NAME; }

/* Finalises once at process exit when MPI was initialised and not yet finalised, so every
   `ffc` command that returns normally leaves mpirun a clean exit. */
static void ffc_mpi_finalize_at_exit(void) {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (initialized && !finalized) MPI_Finalize();
}
static inline int ffc_mpi_register_finalize(void) { return atexit(ffc_mpi_finalize_at_exit); }
#endif
