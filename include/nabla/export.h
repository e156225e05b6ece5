/* nabla — symbol export macro.
 *
 * The library is built with -fvisibility=hidden; only declarations marked
 * NB_API are exported from the shared object, so the ABI is exactly what the
 * public headers declare. */
#ifndef NABLA_EXPORT_H
#define NABLA_EXPORT_H

#if defined(_WIN32)
#  define NB_API __declspec(dllexport)
#elif defined(__GNUC__)
#  define NB_API __attribute__((visibility("default")))
#else
#  define NB_API
#endif

#endif
