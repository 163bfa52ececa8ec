'use strict';
// Loads the test protos from the repository's protos/ folder with @grpc/proto-loader.
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

function load(protosDir) {
  const definition = protoLoader.loadSync(['testing/v1/echo.proto', 'grpc/health/v1/health.proto'], {
    includeDirs: [path.resolve(protosDir)],
    keepCase: true,
    longs: String,
    enums: Number,
    defaults: true,
  });
  return grpc.loadPackageDefinition(definition);
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

module.exports = { grpc, load, emit };
