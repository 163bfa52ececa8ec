"""Generates the Python stubs a user of the GPU service would generate, into a temporary folder on sys.path.

- tlora.v1 from the repository's protos/ (google/protobuf/*.proto from Debian's protobuf-compiler, /usr/include);
- grpc.health.v1 and grpc.reflection.v1alpha from Debian's grpc-proto (/usr/share/grpc-proto);
- google.rpc.Status and BadRequest from googleapis (the test copies them from the Google.Api.CommonProtos package).

The grpc-proto and googleapis files are compiled from copies under other folder names: a generated package named
"grpc" or "google" would shadow grpcio or protobuf themselves. Their proto packages, and so the wire names, stay.
"""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile

PROTOC = "/usr/bin/protoc"
PLUGIN = "/usr/bin/grpc_python_plugin"
GRPC_PROTO = "/usr/share/grpc-proto"


def generate(protos, google_rpc):
    for tool, package in ((PROTOC, "protobuf-compiler"), (PLUGIN, "protobuf-compiler-grpc"),
                          (os.path.join(GRPC_PROTO, "grpc/health/v1/health.proto"), "grpc-proto")):
        if not os.path.exists(tool):
            sys.exit("missing %s: apt-get install %s (bash .ci/setup does it)" % (tool, package))
    out = tempfile.mkdtemp(prefix="tlora-pystubs-")
    atexit.register(shutil.rmtree, out, True)
    src = os.path.join(out, "src")
    copies = {"peer_health/health.proto": os.path.join(GRPC_PROTO, "grpc/health/v1/health.proto"),
              "peer_reflection/reflection.proto": os.path.join(GRPC_PROTO, "grpc/reflection/v1alpha/reflection.proto"),
              "peer_rpc/status.proto": os.path.join(google_rpc, "status.proto"),
              "peer_rpc/error_details.proto": os.path.join(google_rpc, "error_details.proto")}
    for target, source in copies.items():
        os.makedirs(os.path.dirname(os.path.join(src, target)), exist_ok=True)
        shutil.copy(source, os.path.join(src, target))
    tlora = sorted("tlora/v1/" + f for f in os.listdir(os.path.join(protos, "tlora", "v1")) if f.endswith(".proto"))
    subprocess.run([PROTOC, "-I", protos, "-I", src, "-I", "/usr/include", "--python_out=" + out,
                    "--plugin=protoc-gen-grpc_python=" + PLUGIN, "--grpc_python_out=" + out] + tlora + sorted(copies),
                   check=True)
    sys.path.insert(0, out)
    return out
