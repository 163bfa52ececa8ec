#!/usr/bin/env python3
"""A real gRPC client (Debian's python3-grpcio) calling the C# Echo server; driven by tests/Rpc.Tests.

Usage: echo_client.py TARGET PROTOS_DIR TAG_PREFIX
Prints one JSON line per case: {"case": ..., "code": <grpc status number>, "details": ..., ...}.
Generates its stubs first with Debian's protoc + grpc_python_plugin (protobuf-compiler, protobuf-compiler-grpc).
"""
import json
import sys
import time

from stubs import generate_stubs

target, protos, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
generate_stubs(protos)

import grpc  # noqa: E402
from testing.v1 import echo_pb2, echo_pb2_grpc  # noqa: E402
from peer_health import health_pb2, health_pb2_grpc  # noqa: E402

NON_ASCII = "größe ✓ 日本 100% «ok»\n"


def emit(case, **fields):
    print(json.dumps(dict(case=case, **fields), ensure_ascii=True), flush=True)


def error(case, e, **fields):
    emit(case, code=e.code().value[0], details=e.details(), **fields)


def run(case, fn):
    try:
        fn()
    except grpc.RpcError as e:
        error(case, e)
    except Exception as e:  # a bug in the peer itself: report it rather than crash
        emit(case, code=-1, details="peer exception: %r" % (e,))


channel = grpc.insecure_channel(target)
grpc.channel_ready_future(channel).result(timeout=20)
echo = echo_pb2_grpc.EchoStub(channel)
health = health_pb2_grpc.HealthStub(channel)


def unary():
    reply = echo.Say(echo_pb2.EchoRequest(text="hello from python", payload=b"\x00\x01\xff"), timeout=20)
    emit("unary", code=0, text=reply.text, payload=reply.payload.hex())


def metadata():
    reply, call = echo.Say.with_call(echo_pb2.EchoRequest(text="m"), timeout=20,
                                     metadata=(("x-echo", "plain value"), ("x-echo-bin", b"\x00\x01\xfa\xff")))
    headers = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in call.initial_metadata()}
    trailers = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in call.trailing_metadata()}
    emit("metadata", code=0, headers=headers, trailers=trailers)


def stream():
    indices = [r.index for r in echo.Stream(echo_pb2.StreamRequest(text="s", count=150), timeout=30)]
    emit("stream", code=0, count=len(indices), in_order=indices == list(range(150)))


def deadline():
    echo.Slow(echo_pb2.SlowRequest(delay_ms=30000, tag=prefix + "-deadline"), timeout=1.0)
    emit("deadline", code=0, details="completed?!")


def cancel():
    future = echo.Slow.future(echo_pb2.SlowRequest(delay_ms=30000, tag=prefix + "-cancel"), timeout=30)
    time.sleep(1.0)
    future.cancel()
    try:
        future.result()
        emit("cancel", code=0, details="completed?!")
    except grpc.FutureCancelledError:
        emit("cancel", code=grpc.StatusCode.CANCELLED.value[0], details="cancelled by the client")


def oversized():
    echo.Say(echo_pb2.EchoRequest(payload=b"\x00" * (5 * 1024 * 1024)), timeout=20)
    emit("oversized", code=0)


def unknown(case, path):
    def fn():
        call = channel.unary_unary(path, request_serializer=echo_pb2.EchoRequest.SerializeToString,
                                   response_deserializer=echo_pb2.EchoReply.FromString)
        call(echo_pb2.EchoRequest(), timeout=20)
        emit(case, code=0)
    return fn


def status_unicode():
    echo.Fail(echo_pb2.FailRequest(code=9, message=NON_ASCII), timeout=20)
    emit("status_unicode", code=0)


def exception():
    echo.Fail(echo_pb2.FailRequest(throw_exception=True), timeout=20)
    emit("exception", code=0)


def health_check():
    reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=20)
    emit("health", code=0, status=reply.status)


def health_unknown():
    health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=20)
    emit("health_unknown", code=0)


def health_watch():
    call = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=20)
    first = next(call)
    call.cancel()
    emit("health_watch", code=0, status=first.status)


for name, fn in [("unary", unary), ("metadata", metadata), ("stream", stream), ("deadline", deadline),
                 ("cancel", cancel), ("oversized", oversized),
                 ("unknown_method", unknown("unknown_method", "/tlora.testing.v1.Echo/Nope")),
                 ("unknown_service", unknown("unknown_service", "/tlora.testing.v1.Nope/Say")),
                 ("status_unicode", status_unicode), ("exception", exception), ("health", health_check),
                 ("health_unknown", health_unknown), ("health_watch", health_watch)]:
    run(name, fn)
channel.close()
emit("done", code=0)
