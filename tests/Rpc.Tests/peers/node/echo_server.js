'use strict';
// A real gRPC server (@grpc/grpc-js) implementing tlora.testing.v1.Echo; the C# client's tests call it.
// Usage: node echo_server.js PROTOS_DIR
// Prints {"event":"listening","port":N}, then {"event":"cancelled"|"completed","tag":...} for each Slow call.
// Exits when its stdin closes (the test process ends) so it never outlives the tests.
const { grpc, load, emit } = require('./load');

const proto = load(process.argv[2]);

const service = {
  Say(call, callback) {
    const echo = call.metadata.get('x-echo');
    const echoBin = call.metadata.get('x-echo-bin');
    const md = new grpc.Metadata();
    if (echo.length) md.set('x-echo', echo[0]);
    if (echoBin.length) md.set('x-echo-bin', echoBin[0]);
    if (echo.length || echoBin.length) call.sendMetadata(md);
    callback(null, { text: call.request.text, payload: call.request.payload }, md);
  },
  Stream(call) {
    const { text, count, delay_ms: delay, payload_size: size } = call.request;
    const payload = Buffer.alloc(size);
    let i = 0;
    let cancelled = false;
    call.on('cancelled', () => { cancelled = true; });
    const next = () => {
      while (!cancelled && i < count) {
        const index = i++;
        call.write({ text, index, payload });
        if (delay > 0) { setTimeout(next, delay); return; }
      }
      if (!cancelled) call.end();
    };
    next();
  },
  Fail(call, callback) {
    const { code, message, throw_exception: throwIt } = call.request;
    if (throwIt) throw new Error('secret internal detail');
    callback({ code, details: message });
  },
  Slow(call, callback) {
    const { delay_ms: delay, tag } = call.request;
    const timer = setTimeout(() => {
      emit({ event: 'completed', tag });
      callback(null, { text: tag });
    }, delay);
    call.on('cancelled', () => {
      clearTimeout(timer);
      emit({ event: 'cancelled', tag });
    });
  },
};

const server = new grpc.Server();
server.addService(proto.tlora.testing.v1.Echo.service, service);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    emit({ event: 'error', details: String(err) });
    process.exit(1);
  }
  emit({ event: 'listening', port });
});
process.stdin.on('end', () => server.tryShutdown(() => process.exit(0)));
process.stdin.resume();
