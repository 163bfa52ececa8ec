'use strict';
// A real gRPC client (@grpc/grpc-js) calling the C# Echo server; driven by tests/Rpc.Tests.
// Usage: node echo_client.js TARGET PROTOS_DIR TAG_PREFIX
// Prints one JSON line per case: {"case": ..., "code": <grpc status number>, "details": ..., ...}.
const { grpc, load, emit } = require('./load');

const [target, protosDir, prefix] = process.argv.slice(2);
const proto = load(protosDir);
const echo = new proto.tlora.testing.v1.Echo(target, grpc.credentials.createInsecure());
const health = new proto.grpc.health.v1.Health(target, grpc.credentials.createInsecure());
const NON_ASCII = 'größe ✓ 日本 100% «ok»\n';

const deadline = (ms) => new Date(Date.now() + ms);
const hex = (v) => (Buffer.isBuffer(v) ? v.toString('hex') : v);
const flat = (md) => Object.fromEntries(Object.entries(md.getMap()).map(([k, v]) => [k, hex(v)]));

function unary(client, method, request, options = {}, metadata = new grpc.Metadata()) {
  return new Promise((resolve, reject) => {
    let headers = null;
    let trailers = null;
    const call = client[method](request, metadata, { deadline: deadline(20000), ...options }, (err, reply) => {
      if (err) reject(err);
      else resolve({ reply, headers, trailers: () => trailers });
    });
    call.on('metadata', (md) => { headers = md; });
    call.on('status', (s) => { trailers = s.metadata; });
  });
}

const cases = {
  async unary() {
    const { reply } = await unary(echo, 'Say', { text: 'hello from node', payload: Buffer.from([0, 1, 255]) });
    return { text: reply.text, payload: hex(reply.payload) };
  },
  async metadata() {
    const md = new grpc.Metadata();
    md.set('x-echo', 'plain value');
    md.set('x-echo-bin', Buffer.from([0, 1, 0xfa, 0xff]));
    const result = await unary(echo, 'Say', { text: 'm' }, {}, md);
    await new Promise((r) => setTimeout(r, 50));
    return { headers: flat(result.headers), trailers: flat(result.trailers()) };
  },
  stream() {
    return new Promise((resolve, reject) => {
      const indices = [];
      const call = echo.Stream({ text: 's', count: 150 }, { deadline: deadline(30000) });
      call.on('data', (r) => indices.push(r.index));
      call.on('error', reject);
      call.on('end', () => resolve({ count: indices.length, in_order: indices.every((v, i) => v === i) }));
    });
  },
  async deadline() {
    await unary(echo, 'Slow', { delay_ms: 30000, tag: `${prefix}-deadline` }, { deadline: deadline(1000) });
    return { details: 'completed?!' };
  },
  cancel() {
    return new Promise((resolve, reject) => {
      const call = echo.Slow({ delay_ms: 30000, tag: `${prefix}-cancel` }, { deadline: deadline(30000) }, (err) => {
        if (err) reject(err);
        else resolve({ details: 'completed?!' });
      });
      setTimeout(() => call.cancel(), 1000);
    });
  },
  async oversized() {
    await unary(echo, 'Say', { payload: Buffer.alloc(5 * 1024 * 1024) });
    return {};
  },
  unknown_method() { return unknownPath('/tlora.testing.v1.Echo/Nope'); },
  unknown_service() { return unknownPath('/tlora.testing.v1.Nope/Say'); },
  async status_unicode() {
    await unary(echo, 'Fail', { code: 9, message: NON_ASCII });
    return {};
  },
  async exception() {
    await unary(echo, 'Fail', { throw_exception: true });
    return {};
  },
  async health() {
    const { reply } = await unary(health, 'Check', { service: '' });
    return { status: reply.status };
  },
  async health_unknown() {
    await unary(health, 'Check', { service: 'no.such.Service' });
    return {};
  },
  health_watch() {
    return new Promise((resolve, reject) => {
      const call = health.Watch({ service: '' }, { deadline: deadline(20000) });
      call.on('data', (r) => { resolve({ status: r.status }); call.cancel(); });
      call.on('error', (e) => { if (e.code !== grpc.status.CANCELLED) reject(e); });
    });
  },
};

function unknownPath(path) {
  const say = proto.tlora.testing.v1.Echo.service.Say;
  const ser = say.requestSerialize;
  const de = say.responseDeserialize;
  return new Promise((resolve, reject) => {
    echo.makeUnaryRequest(path, ser, de, {}, new grpc.Metadata(), { deadline: deadline(20000) }, (err) => {
      if (err) reject(err);
      else resolve({});
    });
  });
}

(async () => {
  for (const [name, fn] of Object.entries(cases)) {
    try {
      const fields = await fn();
      emit({ case: name, code: 0, ...fields });
    } catch (e) {
      if (e && typeof e.code === 'number') emit({ case: name, code: e.code, details: e.details });
      else emit({ case: name, code: -1, details: `peer exception: ${e && e.stack}` });
    }
  }
  echo.close();
  health.close();
  emit({ case: 'done', code: 0 });
})();
