// fuzz_check.h: FUZZ_CHECK, the assertion of fuzz targets.
//
// Unlike assert() it is never compiled out, and it names the failed condition before
// aborting, which libFuzzer reports as a crash and saves as a reproducer.
#ifndef RINGSIDE_TOOLS_FUZZ_FUZZ_CHECK_H_
#define RINGSIDE_TOOLS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                            \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

#endif  // RINGSIDE_TOOLS_FUZZ_FUZZ_CHECK_H_
