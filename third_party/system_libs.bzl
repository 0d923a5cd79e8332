"""Repository rules that expose Debian's system libraries to Bazel, offline.

`system_library` turns pkg-config modules into a cc_library (headers are already in
/usr/include, so the target carries only link flags and defines); a missing one fails with
the Debian packages to install; `system_protobuf`
provides the `@com_google_protobuf` repository that Bazel's native proto rules expect,
backed by /usr/bin/protoc and the .proto files of libprotobuf-dev.
"""

# One repository per system library, named ringside_<target> ("++" spelled "pp"), so a
# consumer's build probes only the libraries of the targets it builds: Bazel fetches a
# repository when a target in it is first needed.
#   target: (pkg-config modules, extra link flags, Debian packages that provide it)
SYSTEM_LIBRARIES = {
    "liburing": (["liburing"], [], ["liburing-dev"]),
    "absl_status": (["absl_status", "absl_statusor"], [], ["libabsl-dev"]),
    "absl_strings": (["absl_strings", "absl_str_format"], [], ["libabsl-dev"]),
    "absl_flags": (["absl_flags", "absl_flags_parse", "absl_flags_usage"], [], ["libabsl-dev"]),
    "absl_synchronization": (["absl_synchronization"], [], ["libabsl-dev"]),
    "absl_time": (["absl_time"], [], ["libabsl-dev"]),
    "absl_containers": (["absl_flat_hash_map", "absl_flat_hash_set"], [], ["libabsl-dev"]),
    "gtest": (["gtest", "gmock"], [], ["libgtest-dev", "libgmock-dev"]),
    "gtest_main": (["gtest", "gmock", "gmock_main"], [], ["libgtest-dev", "libgmock-dev"]),
    "benchmark": (["benchmark"], ["-lbenchmark_main"], ["libbenchmark-dev"]),
    "protobuf": (["protobuf"], [], ["libprotobuf-dev"]),
    "grpc++": (["grpc++", "protobuf"], [], ["libgrpc++-dev", "libprotobuf-dev"]),
    "grpc++_reflection": (["grpc++", "protobuf"], ["-lgrpc++_reflection"], ["libgrpc++-dev", "libprotobuf-dev"]),
    "prometheus_cpp_core": (["prometheus-cpp-core"], [], ["prometheus-cpp-dev"]),
}

# Header-only libraries: the header that must exist, and its Debian package.
SYSTEM_HEADER_LIBRARIES = {
    "concurrentqueue": ("/usr/include/concurrentqueue/concurrentqueue.h", ["libconcurrentqueue-dev"]),
}

def system_repository_name(target):
    return "ringside_" + target.replace("++", "pp")

def _missing(what, packages, detail):
    fail(("ringside needs %s, which is not installed. On Debian/Ubuntu:\n" +
          "  sudo apt-get install --no-install-recommends %s\n%s") %
         (what, " ".join(packages), detail))

def _pkg_config(ctx, flag, modules, packages):
    if not ctx.which("pkg-config"):
        _missing("pkg-config", ["pkg-config"], "")
    result = ctx.execute(["pkg-config", flag] + modules)
    if result.return_code != 0:
        _missing("the pkg-config modules " + " ".join(modules), packages, result.stderr)
    return [f for f in result.stdout.strip().split(" ") if f]

def _system_library_impl(ctx):
    target = ctx.attr.target
    lines = ['package(default_visibility = ["//visibility:public"])', ""]
    if target in SYSTEM_HEADER_LIBRARIES:
        header, packages = SYSTEM_HEADER_LIBRARIES[target]
        if not ctx.path(header).exists:
            _missing(header, packages, "")
        lines.append("cc_library(name = %r)" % target)
    else:
        modules, extra_linkopts, packages = SYSTEM_LIBRARIES[target]
        linkopts = _pkg_config(ctx, "--libs", modules, packages) + extra_linkopts
        cflags = _pkg_config(ctx, "--cflags", modules, packages)
        lines.append("cc_library(")
        lines.append("    name = %r," % target)
        lines.append("    defines = %r," % [f[2:] for f in cflags if f.startswith("-D")])
        lines.append("    linkopts = %r," % linkopts)
        lines.append(")")
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
    ctx.file("BUILD.bazel", "\n".join(lines) + "\n")

# A repository with one cc_library, `target`, for the system library of that name.
system_library = repository_rule(
    implementation = _system_library_impl,
    attrs = {"target": attr.string(mandatory = True)},
    local = True,
)

def _system_protobuf_impl(ctx):
    include = ctx.path("/usr/include/google/protobuf")
    if not include.exists or not ctx.path("/usr/bin/protoc").exists:
        _missing("protoc and the protobuf headers", ["libprotobuf-dev", "protobuf-compiler"], "")
    names = []
    for proto in include.readdir():
        if proto.basename.endswith(".proto"):
            ctx.symlink(proto, "google/protobuf/" + proto.basename)
            names.append(proto.basename[:-len(".proto")])
    names = sorted(names)
    ctx.file("protoc.sh", "#!/bin/sh\nexec /usr/bin/protoc \"$@\"\n", executable = True)
    lines = [
        'package(default_visibility = ["//visibility:public"])',
        "",
        'sh_binary(name = "protoc", srcs = ["protoc.sh"])',
        "",
        'cc_library(name = "protobuf_runtime", linkopts = ["-lprotobuf"])',
        "",
    ]
    for name in names:
        lines.append('proto_library(name = "%s_proto", srcs = ["google/protobuf/%s.proto"], strip_import_prefix = "")' % (name, name))
    lines.append("")
    lines.append("proto_lang_toolchain(")
    lines.append('    name = "cc_toolchain",')
    lines.append('    command_line = "--cpp_out=$(OUT)",')
    lines.append('    runtime = ":protobuf_runtime",')
    lines.append("    blacklisted_protos = [%s]," % ", ".join(['":%s_proto"' % n for n in names]))
    lines.append(")")
    ctx.file("WORKSPACE", 'workspace(name = "com_google_protobuf")\n')
    ctx.file("BUILD.bazel", "\n".join(lines) + "\n")

system_protobuf = repository_rule(
    implementation = _system_protobuf_impl,
    local = True,
)
