// Loads proto/askr/cluster/v1/cluster.proto for grpc-js (shared by client.js and server.js).
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO = path.resolve(__dirname, '../../proto/askr/cluster/v1/cluster.proto');

function load() {
  const definition = protoLoader.loadSync(PROTO, {
    longs: String, // fixed64 ids as decimal strings
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).askr.cluster.v1;
}

module.exports = { grpc, load };
