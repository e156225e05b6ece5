/* One core's FMA peak (flop/s) and read bandwidth (B/s) on an ISA, measured
 * now; 0 when the ISA has no probe here (the reference) or cannot run. */
#ifndef NBT_MACHINE_H
#define NBT_MACHINE_H

#include <nabla/nabla.h>

double nbt_fma_peak(nb_isa isa);
double nbt_read_bandwidth(nb_isa isa);

#endif
