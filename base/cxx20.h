// cxx20.h: stops a build below C++20 with one clear error, before the confusing ones.
//
// ringside's public headers use C++20 (std::span, std::bit_ceil, designated initializers),
// and Bazel's default C++ toolchain compiles as C++11. Every public library includes this
// first; a consumer adds to its .bazelrc (README.md, "Use the libraries"):
//   build --cxxopt=-std=c++20 --host_cxxopt=-std=c++20
//
// Thread-safety: nothing to share.
#ifndef RINGSIDE_BASE_CXX20_H_
#define RINGSIDE_BASE_CXX20_H_

#if __cplusplus < 202002L
#error "ringside needs C++20: add `build --cxxopt=-std=c++20 --host_cxxopt=-std=c++20` to your .bazelrc"
#endif

#endif  // RINGSIDE_BASE_CXX20_H_
