"""cc_fuzz_target: a libFuzzer target and the regression test that replays its corpus.

`cc_fuzz_target(name = "x_fuzzer", srcs = [...], deps = [...], corpus = "x_corpus")` makes
  - `x_fuzzer`: under --config=fuzz a libFuzzer binary (clang-14, ASan+UBSan), otherwise a
    replay binary with the same command line for files and directories (gcc builds it, so
    `bazel build //...` keeps working everywhere);
  - `x_fuzzer_regression_test`: a cc_test that runs the target once on each file of the
    committed corpus, so every CI build (gcc, asan, tsan) re-checks what fuzzing found.
"""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library", "cc_test")

def cc_fuzz_target(name, srcs, corpus, deps = [], dict = None, **kwargs):
    cc_library(
        name = name + "_lib",
        testonly = True,
        srcs = srcs,
        deps = deps,
        alwayslink = True,
        **kwargs
    )
    cc_binary(
        name = name,
        testonly = True,
        data = [dict] if dict else [],
        linkopts = select({
            "//tools/fuzz:fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        deps = [":" + name + "_lib"] + select({
            "//tools/fuzz:fuzzing": [],
            "//conditions:default": ["//tools/fuzz:replay_main"],
        }),
        **kwargs
    )
    cc_test(
        name = name + "_regression_test",
        size = "small",
        # The test runs in the workspace root of its runfiles.
        args = [native.package_name() + "/" + corpus],
        data = native.glob([corpus + "/**"]),
        deps = [
            ":" + name + "_lib",
            "//tools/fuzz:replay_main",
        ],
        **kwargs
    )
