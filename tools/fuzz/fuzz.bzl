"""cc_fuzz_target: a libFuzzer target and the regression test that replays its corpus.

`cc_fuzz_target(name = "x_fuzzer", srcs = [...], deps = [...])` in package p expects the
corpus in p/x_corpus/ and takes p/x.dict as libFuzzer dictionary if there is one (the
names tools/fuzz/run_fuzzers.sh looks for). It makes
  - `x_fuzzer`: under --config=fuzz a libFuzzer binary (clang-14, ASan+UBSan), otherwise a
    binary that replays the files and directories it is given (gcc builds it, so
    `bazel build //...` keeps working everywhere); tagged `fuzz_target`;
  - `x_fuzzer_regression_test`: a cc_test that runs the target once on each file of the
    committed corpus, so every CI build (gcc, asan, tsan) re-checks what fuzzing found.
"""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library", "cc_test")

def cc_fuzz_target(name, srcs, deps = [], **kwargs):
    if not name.endswith("_fuzzer"):
        fail("cc_fuzz_target names end with _fuzzer: " + name)
    base = name[:-len("_fuzzer")]
    corpus = base + "_corpus"
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
        data = native.glob([base + ".dict"]),
        linkopts = select({
            "//tools/fuzz:fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        tags = ["fuzz_target"],
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
        data = native.glob([corpus + "/**"], allow_empty = False),
        deps = [
            ":" + name + "_lib",
            "//tools/fuzz:replay_main",
        ],
        **kwargs
    )
