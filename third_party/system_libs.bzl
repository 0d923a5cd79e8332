"""Repository rules that expose Debian's system libraries to Bazel, offline.

`system_libs` turns pkg-config modules into cc_library targets (headers are already in
/usr/include, so each target carries only link flags and defines); `system_protobuf`
provides the `@com_google_protobuf` repository that Bazel's native proto rules expect,
backed by /usr/bin/protoc and the .proto files of libprotobuf-dev.
"""

# Target name -> pkg-config modules. Extra raw link flags go in _EXTRA_LINKOPTS.
_PKG_CONFIG_TARGETS = {
    "liburing": ["liburing"],
    "absl_status": ["absl_status", "absl_statusor"],
    "absl_strings": ["absl_strings", "absl_str_format"],
    "absl_flags": ["absl_flags", "absl_flags_parse", "absl_flags_usage"],
    "absl_synchronization": ["absl_synchronization"],
    "absl_time": ["absl_time"],
    "absl_containers": ["absl_flat_hash_map", "absl_flat_hash_set"],
    "gtest": ["gtest", "gmock"],
    "gtest_main": ["gtest", "gmock", "gmock_main"],
    "benchmark": ["benchmark"],
    "protobuf": ["protobuf"],
    "grpc++": ["grpc++", "protobuf"],
    "grpc++_reflection": ["grpc++", "protobuf"],
    "prometheus_cpp_core": ["prometheus-cpp-core"],
}

_EXTRA_LINKOPTS = {
    "grpc++_reflection": ["-lgrpc++_reflection"],
    "benchmark": ["-lbenchmark_main"],
}

# Header-only libraries: nothing to link.
_HEADER_ONLY = ["concurrentqueue"]

def _pkg_config(ctx, flag, modules):
    result = ctx.execute(["pkg-config", flag] + modules)
    if result.return_code != 0:
        fail("pkg-config %s %s failed (run ./bazelw to install the system packages): %s" %
             (flag, " ".join(modules), result.stderr))
    return [f for f in result.stdout.strip().split(" ") if f]

def _system_libs_impl(ctx):
    lines = ['package(default_visibility = ["//visibility:public"])', ""]
    for name, modules in _PKG_CONFIG_TARGETS.items():
        linkopts = _pkg_config(ctx, "--libs", modules) + _EXTRA_LINKOPTS.get(name, [])
        cflags = _pkg_config(ctx, "--cflags", modules)
        defines = [f[2:] for f in cflags if f.startswith("-D")]
        lines.append("cc_library(")
        lines.append("    name = %r," % name)
        lines.append("    defines = %r," % defines)
        lines.append("    linkopts = %r," % linkopts)
        lines.append(")")
        lines.append("")
    for name in _HEADER_ONLY:
        lines.append("cc_library(name = %r)" % name)
        lines.append("")
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
    ctx.file("BUILD.bazel", "\n".join(lines))

system_libs = repository_rule(
    implementation = _system_libs_impl,
    local = True,
)

def _system_protobuf_impl(ctx):
    include = ctx.path("/usr/include/google/protobuf")
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
