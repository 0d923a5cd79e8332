"""ringside_dependencies(): the repositories ringside's libraries need, for any workspace.

In a WORKSPACE that has ringside as `@ringside` (local_repository or http_archive):

    load("@ringside//:repositories.bzl", "ringside_dependencies")
    ringside_dependencies()

It declares one repository per Debian system library (`ringside_liburing`,
`ringside_absl_status`, `ringside_grpcpp`, ...; see third_party/system_libs.bzl). Bazel
probes a library only when a target that needs it is built, so the GID allocator needs
libabsl-dev alone, and a missing library fails with the Debian packages to install.
Everything is local: nothing is downloaded. Only where the workspace does not have them
already, it also declares the offline stand-ins Bazel 4.2.3 itself asks for (`rules_cc`,
`rules_java`, `remote_coverage_tools`) and `com_google_protobuf` (the system protoc and
runtime), which the native proto rules look up by that name.
"""

load("//third_party:system_libs.bzl", "SYSTEM_HEADER_LIBRARIES", "SYSTEM_LIBRARIES", "system_library", "system_protobuf", "system_repository_name")

def _copy_of_directory_impl(ctx):
    source = ctx.path(ctx.attr.marker).dirname
    result = ctx.execute(["cp", "-R", "%s/." % source, "."])
    if result.return_code != 0:
        fail("copying %s: %s" % (source, result.stderr))

# A repository whose files are those of the directory holding `marker`, a file of ringside.
# (local_repository paths are relative to the main workspace, so they cannot name a
# directory inside @ringside.)
_copy_of_directory = repository_rule(
    implementation = _copy_of_directory_impl,
    attrs = {"marker": attr.label(mandatory = True, allow_single_file = True)},
    local = True,
)

def ringside_dependencies():
    existing = native.existing_rules()
    for target in SYSTEM_LIBRARIES.keys() + SYSTEM_HEADER_LIBRARIES.keys():
        name = system_repository_name(target)
        if name not in existing:
            system_library(name = name, target = target)
    for stub in ["rules_cc", "rules_java", "remote_coverage_tools"]:
        if stub not in existing:
            _copy_of_directory(
                name = stub,
                marker = Label("//third_party/%s:WORKSPACE" % stub),
            )
    if "com_google_protobuf" not in existing:
        system_protobuf(name = "com_google_protobuf")
