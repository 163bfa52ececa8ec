#!/usr/bin/env python3
"""A real gRPC client of the GPU service (Debian's python3-grpcio), as a user's script would be; tests/GpuService.Tests
drives it. Prints one JSON line per case: {"case": ..., "code": <grpc status number>, ...}. A line with "await": true
waits for a line on stdin: the test checks the service's side of that case meanwhile.

usage: tlora_peer.py HOST:PORT PROTOS_DIR GOOGLE_RPC_PROTOS_DIR IMAGE MAX_MESSAGE_BYTES
"""
import hashlib
import json
import sys
import time

from stubs import generate

target, protos, google_rpc, image_path, limit = sys.argv[1:6]
generate(protos, google_rpc)

import grpc  # noqa: E402
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # noqa: E402
from peer_health import health_pb2, health_pb2_grpc  # noqa: E402
from peer_reflection import reflection_pb2, reflection_pb2_grpc  # noqa: E402
from peer_rpc import error_details_pb2, status_pb2  # noqa: E402
from tlora.v1 import common_pb2, sample_pb2, service_pb2, service_pb2_grpc, train_pb2  # noqa: E402

NON_ASCII = "größe ✓ 日本 «ok»"
image = open(image_path, "rb").read()


def emit(case, wait=False, **fields):
    line = dict(case=case, **fields)
    if wait:
        line["await"] = True
    print(json.dumps(line, ensure_ascii=True), flush=True)
    if wait:
        sys.stdin.readline()


def run(case, fn):
    try:
        fn()
    except grpc.RpcError as e:
        emit(case, code=e.code().value[0], details=e.details())
    except Exception as e:  # a bug in the peer itself: report it rather than crash
        emit(case, code=-1, details="peer exception: %r" % (e,))


def tiny(**kw):
    r = train_pb2.TrainRequest(model_id="sdxl-tiny", image=image, trigger="sks", class_word="robot", rank=4, steps=2,
                               checkpoint_interval=0, preview_steps=1, validation_prompts=["a {0}"], seed=1)
    for k, v in kw.items():
        setattr(r, k, v)
    return r


channel = grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)])
grpc.channel_ready_future(channel).result(timeout=30)
stub = service_pb2_grpc.TLoRAServiceStub(channel)
health = health_pb2_grpc.HealthStub(channel)
state = {}


def models():
    reply = stub.ListModels(service_pb2.ListModelsRequest(), timeout=30)
    emit("models", code=0, ids=sorted(m.model_id for m in reply.models))


def submit():
    job = stub.SubmitTrain(tiny(), timeout=30)
    emit("submit", code=0, job_id=job.job_id, state=common_pb2.JobState.Name(job.state), service_id=job.service_id)


def train_stream():
    kinds, sequences, jobs = [], [], set()
    for event in stub.Train(tiny(), timeout=300):
        kinds.append(event.WhichOneof("event"))
        sequences.append(event.sequence)
        jobs.add(event.job_id)
        if event.HasField("train_completed"):
            state["adapter"] = event.train_completed.adapter_id
    emit("train_stream", code=0, kinds=kinds, sequences=sequences, jobs=len(jobs))


def download():
    digest, offsets, size, sha = hashlib.sha256(), [], 0, ""
    for chunk in stub.DownloadAdapter(service_pb2.DownloadAdapterRequest(adapter_id=state["adapter"], chunk_size=512),
                                      timeout=60):
        offsets.append(chunk.offset)
        digest.update(chunk.data)
        size += len(chunk.data)
        sha = chunk.sha256 or sha
    in_order = offsets == [i * 512 for i in range(len(offsets))]
    emit("download", code=0, chunks=len(offsets), in_order=in_order, size=size, sha_ok=sha == digest.hexdigest())


def deadline():
    try:
        for _ in stub.WatchJobs(service_pb2.WatchJobsRequest(), timeout=1.0):
            pass
        emit("deadline", code=0, details="ended?!")
    except grpc.RpcError as e:
        emit("deadline", wait=True, code=e.code().value[0], details=e.details())


def cancel():
    call = stub.WatchJobs(service_pb2.WatchJobsRequest(), timeout=60)
    call.initial_metadata()  # the service's watch is in place once its headers have come
    emit("watching", wait=True, code=0)
    call.cancel()
    try:
        for _ in call:
            pass
        emit("cancel", code=0, details="ended?!")
    except grpc.RpcError as e:
        emit("cancel", wait=True, code=e.code().value[0], details=e.details())


def too_large():
    stub.SubmitTrain(tiny(image=b"\0" * (int(limit) + 1)), timeout=30)
    emit("too_large", code=0)


def unknown_method():
    call = channel.unary_unary("/tlora.v1.TLoRAService/Nope", request_serializer=service_pb2.GetJobRequest.SerializeToString,
                               response_deserializer=common_pb2.Job.FromString)
    call(service_pb2.GetJobRequest(job_id="x"), timeout=30)
    emit("unknown_method", code=0)


def non_ascii():
    stub.SubmitSample(sample_pb2.SampleRequest(model_id=NON_ASCII, prompts=["a robot"]), timeout=30)
    emit("non_ascii", code=0)


def rich_error():
    try:
        stub.SubmitTrain(tiny(rank=9999, steps=-1, image=b"not an image"), timeout=30)
        emit("rich_error", code=0)
    except grpc.RpcError as e:
        details = dict(e.trailing_metadata() or ()).get("grpc-status-details-bin")
        status = status_pb2.Status.FromString(details)
        fields = []
        for any_detail in status.details:
            bad = error_details_pb2.BadRequest()
            if any_detail.Unpack(bad):
                fields += [v.field for v in bad.field_violations]
        emit("rich_error", code=e.code().value[0], status_code=status.code, fields=sorted(fields))


def health_check():
    statuses = [health.Check(health_pb2.HealthCheckRequest(service=s), timeout=30).status
                for s in ("", "tlora.v1.TLoRAService")]
    emit("health", code=0, statuses=statuses)


def health_unknown():
    health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=30)
    emit("health_unknown", code=0)


def health_watch():
    call = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=30)
    first = next(call)
    call.cancel()
    emit("health_watch", code=0, status=first.status)


def reflection():
    """What grpcurl does: list the services, fetch the files describing one, call a method by name, no proto files."""
    reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
    requests = [reflection_pb2.ServerReflectionRequest(list_services=""),
                reflection_pb2.ServerReflectionRequest(file_containing_symbol="tlora.v1.TLoRAService")]
    replies = list(reflect.ServerReflectionInfo(iter(requests), timeout=30))
    services = sorted(s.name for s in replies[0].list_services_response.service)
    files = [descriptor_pb2.FileDescriptorProto.FromString(b)
             for b in replies[1].file_descriptor_response.file_descriptor_proto]
    pool, added = descriptor_pool.DescriptorPool(), set()
    while len(added) < len(files):  # dependencies first
        for f in files:
            if f.name not in added and all(d in added for d in f.dependency):
                pool.Add(f)
                added.add(f.name)
    service = pool.FindServiceByName("tlora.v1.TLoRAService")
    method = service.methods_by_name["ListModels"]

    def message_class(descriptor):
        if hasattr(message_factory, "GetMessageClass"):
            return message_factory.GetMessageClass(descriptor)
        return message_factory.MessageFactory(pool).GetPrototype(descriptor)

    request_class, reply_class = message_class(method.input_type), message_class(method.output_type)
    call = channel.unary_unary("/%s/%s" % (service.full_name, method.name), request_serializer=request_class.SerializeToString,
                               response_deserializer=reply_class.FromString)
    reply = call(request_class(), timeout=30)
    emit("reflection", code=0, services=services, methods=[m.name for m in service.methods],
         models=sorted(m.model_id for m in reply.models))


for name, fn in [("models", models), ("submit", submit), ("train_stream", train_stream), ("download", download),
                 ("deadline", deadline), ("cancel", cancel), ("too_large", too_large), ("unknown_method", unknown_method),
                 ("non_ascii", non_ascii), ("rich_error", rich_error), ("health", health_check),
                 ("health_unknown", health_unknown), ("health_watch", health_watch), ("reflection", reflection)]:
    run(name, fn)
channel.close()
emit("done", code=0)
