"""A Python grpcio client of the GPU service, as a user's script would be: list models, train a tiny adapter while
streaming its events, inspect it, and make a bad request. Prints one JSON object per line for the test to check.

usage: /usr/bin/python3 tlora_client.py HOST:PORT PROTOS_DIR IMAGE
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import grpc

target, protos, image = sys.argv[1:4]
out = tempfile.mkdtemp(prefix="tlora-svc-stubs-")
try:
    subprocess.run(["/usr/bin/protoc", "-I", protos, "-I", "/usr/include", "--python_out=" + out,
                    "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin", "--grpc_python_out=" + out,
                    "tlora/v1/common.proto", "tlora/v1/train.proto", "tlora/v1/sample.proto", "tlora/v1/inspect.proto",
                    "tlora/v1/service.proto"], check=True)
    sys.path.insert(0, out)
    from tlora.v1 import service_pb2, service_pb2_grpc, train_pb2, inspect_pb2, common_pb2  # noqa: E402

    def emit(**kv):
        print(json.dumps(kv), flush=True)

    with grpc.insecure_channel(target) as channel:
        stub = service_pb2_grpc.TLoRAServiceStub(channel)
        models = stub.ListModels(service_pb2.ListModelsRequest(), timeout=30)
        emit(case="models", ids=sorted(m.model_id for m in models.models))
        request = train_pb2.TrainRequest(model_id="sdxl-tiny", image=open(image, "rb").read(), trigger="sks",
                                         class_word="robot", rank=4, steps=2, checkpoint_interval=0, preview_steps=1,
                                         validation_prompts=["a {0}"])
        kinds, seqs, adapter = [], [], ""
        for event in stub.Train(request, timeout=300):
            kinds.append(event.WhichOneof("event"))
            seqs.append(event.sequence)
            if event.HasField("completed"):
                adapter = event.completed.adapter_id
        emit(case="train", kinds=kinds, sequences=seqs, adapter=adapter)
        reply = stub.InspectAdapter(inspect_pb2.InspectRequest(adapter_id=adapter), timeout=60)
        emit(case="inspect", method=common_pb2.AdapterMethod.Name(reply.adapter.method), rank=reply.adapter.rank,
             layers=reply.summary.layers)
        bad = train_pb2.TrainRequest(model_id="sdxl-tiny", image=b"not an image", rank=4)
        try:
            for _ in stub.Train(bad, timeout=30):
                pass
            emit(case="bad", code="OK", details="")
        except grpc.RpcError as e:
            emit(case="bad", code=e.code().name, details=e.details())
finally:
    shutil.rmtree(out, ignore_errors=True)
