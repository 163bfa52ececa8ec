"""Generates the Python stubs of the test protos into a temporary folder and puts it on sys.path."""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile

PROTOC = "/usr/bin/protoc"
PLUGIN = "/usr/bin/grpc_python_plugin"


def generate_stubs(protos):
    for tool, package in ((PROTOC, "protobuf-compiler"), (PLUGIN, "protobuf-compiler-grpc")):
        if not os.path.exists(tool):
            sys.exit("missing %s: apt-get install %s" % (tool, package))
    out = tempfile.mkdtemp(prefix="tlora-pystubs-")
    atexit.register(shutil.rmtree, out, True)
    src = os.path.join(out, "src")
    # grpc/health/v1/health.proto would generate a package named "grpc" that shadows grpcio itself, so the health proto
    # is compiled from a copy under another folder; its proto package (grpc.health.v1) and so the wire names stay.
    os.makedirs(os.path.join(src, "peer_health"))
    shutil.copy(os.path.join(protos, "grpc", "health", "v1", "health.proto"), os.path.join(src, "peer_health"))
    os.makedirs(os.path.join(src, "testing", "v1"))
    shutil.copy(os.path.join(protos, "testing", "v1", "echo.proto"), os.path.join(src, "testing", "v1"))
    subprocess.run([PROTOC, "-I", src, "--python_out=" + out, "--plugin=protoc-gen-grpc_python=" + PLUGIN,
                    "--grpc_python_out=" + out, "testing/v1/echo.proto", "peer_health/health.proto"], check=True)
    sys.path.insert(0, out)
    return out
