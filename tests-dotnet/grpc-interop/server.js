#!/usr/bin/env node
// A real gRPC server (grpc-js) playing an askr peer, for the C# client's interop test:
//   node server.js <secret>
// Listens on 127.0.0.1 and a free port, prints {"port": N} on one line, serves until stdin closes.
//   Membership.Ping   -> Ack { from: 77, sequence: request's, ok: true, gossip: request's }
//   Membership.Join   -> PERMISSION_DENIED "refusé: 100% full" (a non-ASCII, percent-encoded message)
//   Membership.PingReq-> never answers (the caller's deadline must end the call)
//   Replication.Repair-> range_count rows, keys "k0".. in order, on table of the request
//   Replication.Digest, Push, Membership.Leave -> UNIMPLEMENTED
// Every call without "authorization: Bearer <secret>" ends with UNAUTHENTICATED.
'use strict';
const { grpc, load } = require('./cluster');

const secret = process.argv[2];
if (!secret) {
  console.error('usage: node server.js <secret>');
  process.exit(2);
}
const v1 = load();

function authorized(call) {
  const values = call.metadata.get('authorization');
  return values.length === 1 && values[0] === 'Bearer ' + secret;
}
const refused = { code: grpc.status.UNAUTHENTICATED, details: 'wrong secret' };

const server = new grpc.Server();
server.addService(v1.Membership.service, {
  ping(call, callback) {
    if (!authorized(call)) return callback(refused);
    callback(null, { from: '77', sequence: call.request.sequence, ok: true, gossip: call.request.gossip });
  },
  join(call, callback) {
    if (!authorized(call)) return callback(refused);
    callback({ code: grpc.status.PERMISSION_DENIED, details: 'refusé: 100% full' });
  },
  pingReq() { /* never answers */ },
  leave(call, callback) { callback({ code: grpc.status.UNIMPLEMENTED }); },
});
server.addService(v1.Replication.service, {
  repair(call) {
    if (!authorized(call)) return call.emit('error', refused);
    for (let i = 0; i < call.request.rangeCount; i++) {
      call.write({ table: call.request.table, key: Buffer.from('k' + i), clock: String(i), origin: '77', deleted: i % 2 === 1, columns: [{ index: 0, setClock: String(i), intValue: String(-i) }] });
    }
    call.end();
  },
  push(call, callback) { callback({ code: grpc.status.UNIMPLEMENTED }); },
  digest(call, callback) { callback({ code: grpc.status.UNIMPLEMENTED }); },
});

server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(err.message);
    process.exit(1);
  }
  console.log(JSON.stringify({ port }));
});
process.stdin.resume();
process.stdin.on('end', () => server.forceShutdown());
process.stdin.on('close', () => server.forceShutdown());
