'use strict';
// A real gRPC client of the GPU service (@grpc/grpc-js), as a user's script would be; tests/GpuService.Tests drives
// it. Prints one JSON line per case: {"case": ..., "code": <grpc status number>, ...}. A line with "await": true
// waits for a line on stdin: the test checks the service's side of that case meanwhile.
// Usage: node tlora_peer.js HOST:PORT PROTOS_DIR GOOGLE_RPC_PROTOS_DIR IMAGE MAX_MESSAGE_BYTES
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');
const { GrpcReflection } = require('grpc-js-reflection-client');

const [target, protosDir, googleRpcDir, imagePath, limit] = process.argv.slice(2);
const GRPC_PROTO = '/usr/share/grpc-proto';
const NON_ASCII = 'größe ✓ 日本 «ok»';
const image = fs.readFileSync(imagePath);
const loaderOptions = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

const tloraFiles = fs.readdirSync(path.join(protosDir, 'tlora', 'v1')).filter((f) => f.endsWith('.proto')).map((f) => `tlora/v1/${f}`);
const proto = grpc.loadPackageDefinition(protoLoader.loadSync([...tloraFiles, 'grpc/health/v1/health.proto'],
  { ...loaderOptions, includeDirs: [path.resolve(protosDir), GRPC_PROTO] }));
const rpcRoot = new protobuf.Root().loadSync([path.join(googleRpcDir, 'status.proto'), path.join(googleRpcDir, 'error_details.proto')], { keepCase: true });
const Status = rpcRoot.lookupType('google.rpc.Status');
const BadRequest = rpcRoot.lookupType('google.rpc.BadRequest');

const options = { 'grpc.max_receive_message_length': 64 * 1024 * 1024 };
const client = new proto.tlora.v1.TLoRAService(target, grpc.credentials.createInsecure(), options);
const health = new proto.grpc.health.v1.Health(target, grpc.credentials.createInsecure());
const deadline = (ms) => new Date(Date.now() + ms);
const stdin = readline.createInterface({ input: process.stdin });
const lines = stdin[Symbol.asyncIterator]();
const state = {};

async function emit(line, wait = false) {
  process.stdout.write(JSON.stringify(wait ? { ...line, await: true } : line) + '\n');
  if (wait) await lines.next();
}

const tiny = (extra = {}) => ({
  model_id: 'sdxl-tiny', image, trigger: 'sks', class_word: 'robot', rank: 4, steps: 2, checkpoint_interval: 0,
  preview_steps: 1, validation_prompts: ['a {0}'], seed: 1, ...extra,
});

function unary(stub, method, request, ms = 30000) {
  return new Promise((resolve, reject) => {
    stub[method](request, { deadline: deadline(ms) }, (err, reply) => (err ? reject(err) : resolve(reply)));
  });
}

function drain(call, onData) {
  return new Promise((resolve, reject) => {
    call.on('data', onData);
    call.on('error', reject);
    call.on('end', resolve);
  });
}

const cases = {
  async models() {
    const reply = await unary(client, 'ListModels', {});
    return { ids: reply.models.map((m) => m.model_id).sort() };
  },
  async submit() {
    const job = await unary(client, 'SubmitTrain', tiny());
    return { job_id: job.job_id, state: job.state, service_id: job.service_id };
  },
  async train_stream() {
    const kinds = []; const sequences = []; const jobs = new Set();
    await drain(client.Train(tiny(), { deadline: deadline(300000) }), (e) => {
      kinds.push(e.event); sequences.push(e.sequence); jobs.add(e.job_id);
      if (e.event === 'train_completed') state.adapter = e.train_completed.adapter_id;
    });
    return { kinds, sequences, jobs: jobs.size };
  },
  async download() {
    const digest = crypto.createHash('sha256'); const offsets = []; let size = 0; let sha = '';
    await drain(client.DownloadAdapter({ adapter_id: state.adapter, chunk_size: 512 }, { deadline: deadline(60000) }), (c) => {
      offsets.push(c.offset); digest.update(c.data); size += c.data.length; sha = c.sha256 || sha;
    });
    return { chunks: offsets.length, in_order: offsets.every((o, i) => o === i * 512), size, sha_ok: sha === digest.digest('hex') };
  },
  async deadline() {
    try {
      await drain(client.WatchJobs({}, { deadline: deadline(1000) }), () => {});
      return { details: 'ended?!' };
    } catch (e) {
      await emit({ case: 'deadline', code: e.code, details: e.details }, true);
      return null;
    }
  },
  async cancel() {
    const call = client.WatchJobs({}, { deadline: deadline(60000) });
    await new Promise((resolve) => call.on('metadata', resolve)); // the service's watch is in place
    await emit({ case: 'watching', code: 0 }, true);
    const ended = drain(call, () => {});
    call.cancel();
    try {
      await ended;
      return { details: 'ended?!' };
    } catch (e) {
      await emit({ case: 'cancel', code: e.code, details: e.details }, true);
      return null;
    }
  },
  async too_large() {
    await unary(client, 'SubmitTrain', tiny({ image: Buffer.alloc(Number(limit) + 1) }));
    return {};
  },
  unknown_method() {
    const method = proto.tlora.v1.TLoRAService.service.GetJob;
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest('/tlora.v1.TLoRAService/Nope', method.requestSerialize, method.responseDeserialize, { job_id: 'x' },
        new grpc.Metadata(), { deadline: deadline(30000) }, (err) => (err ? reject(err) : resolve({})));
    });
  },
  async non_ascii() {
    await unary(client, 'SubmitSample', { model_id: NON_ASCII, prompts: ['a robot'] });
    return {};
  },
  async rich_error() {
    try {
      await unary(client, 'SubmitTrain', tiny({ rank: 9999, steps: -1, image: Buffer.from('not an image') }));
      return {};
    } catch (e) {
      const status = Status.decode(e.metadata.get('grpc-status-details-bin')[0]);
      const fields = status.details.filter((d) => d.type_url.endsWith('/google.rpc.BadRequest'))
        .flatMap((d) => BadRequest.decode(d.value).field_violations.map((v) => v.field));
      await emit({ case: 'rich_error', code: e.code, status_code: status.code, fields: fields.sort() });
      return null;
    }
  },
  async health() {
    const statuses = [];
    for (const service of ['', 'tlora.v1.TLoRAService']) statuses.push((await unary(health, 'Check', { service })).status);
    return { statuses };
  },
  async health_unknown() {
    await unary(health, 'Check', { service: 'no.such.Service' });
    return {};
  },
  health_watch() {
    return new Promise((resolve, reject) => {
      const call = health.Watch({ service: '' }, { deadline: deadline(30000) });
      call.on('data', (r) => { resolve({ status: r.status }); call.cancel(); });
      call.on('error', (e) => { if (e.code !== grpc.status.CANCELLED) reject(e); });
    });
  },
  async reflection() {
    // What grpcurl does: list the services, fetch the files describing one, call a method by name, no proto files.
    const reflect = new GrpcReflection(target, grpc.credentials.createInsecure());
    const services = (await reflect.listServices()).sort();
    const descriptor = await reflect.getDescriptorBySymbol('tlora.v1.TLoRAService');
    const api = descriptor.getPackageObject(loaderOptions);
    const Service = api.tlora.v1.TLoRAService;
    const dynamic = new Service(target, grpc.credentials.createInsecure());
    const reply = await unary(dynamic, 'ListModels', {});
    dynamic.close();
    return { services, methods: Object.keys(Service.service), models: reply.models.map((m) => m.model_id).sort() };
  },
};

(async () => {
  for (const [name, fn] of Object.entries(cases)) {
    try {
      const fields = await fn();
      if (fields !== null) await emit({ case: name, code: 0, ...fields });
    } catch (e) {
      if (e && typeof e.code === 'number') await emit({ case: name, code: e.code, details: e.details });
      else await emit({ case: name, code: -1, details: `peer exception: ${e && e.stack}` });
    }
  }
  client.close();
  health.close();
  await emit({ case: 'done', code: 0 });
  process.exit(0);
})();
