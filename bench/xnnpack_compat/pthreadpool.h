// Debian's libxnnpack-dev (2022) includes <pthreadpool.h>, which Debian does
// not ship (libpthreadpool0 has the library only). xnnpack.h needs just the
// handle type: the benchmarks pass a NULL pool (one thread).
#pragma once
typedef struct pthreadpool *pthreadpool_t;
