#!/usr/bin/env node
// A real gRPC client (grpc-js) against an askr cluster endpoint:
//   node client.js <host:port> <secret> [repair-rows] [ca.pem]
// With ca.pem the call is TLS and trusts that certificate (the cluster's); otherwise h2c.
// Calls, all with the bearer secret unless said:
//   Membership.Ping (unary), Replication.Repair (server streaming), Replication.Push,
//   Membership.Leave (the test server refuses it), Membership.Join with a 1 s deadline (the
//   test server never answers it), Replication.Digest (not implemented by the test server), and
//   Ping without the secret (must be refused).
// Prints the results as one JSON object; exits non-zero when a call does not behave.
'use strict';
const fs = require('fs');
const { grpc, load } = require('./cluster');

const [address, secret, rowsArg, caFile] = process.argv.slice(2);
if (!address || !secret) {
  console.error('usage: node client.js <host:port> <secret> [repair-rows] [ca.pem]');
  process.exit(2);
}
const rows = Number(rowsArg || 100);
const v1 = load();
const credentials = caFile ? grpc.credentials.createSsl(fs.readFileSync(caFile)) : grpc.credentials.createInsecure();
const membership = new v1.Membership(address, credentials);
const replication = new v1.Replication(address, credentials);

function auth(value) {
  const metadata = new grpc.Metadata();
  if (value !== null) metadata.set('authorization', value);
  return metadata;
}
const bearer = () => auth('Bearer ' + secret);
const deadline = (ms = 5000) => new Date(Date.now() + ms);

function unary(client, method, request, metadata, ms) {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, { deadline: deadline(ms) }, (err, response) => (err ? reject(err) : resolve(response)));
  });
}

// The status of a call that must fail; a call that succeeds is reported as code 0.
async function failure(promise) {
  try {
    await promise;
    return { code: 0 };
  } catch (err) {
    return { code: err.code, details: err.details };
  }
}

function ping(metadata) {
  return unary(membership, 'ping',
    { from: '12345678901234567890', sequence: 42, gossip: { members: [{ id: '1', address: '127.0.0.1:7001', incarnation: 3, state: 'MEMBER_STATE_SUSPECT' }] } },
    metadata);
}

function repair() {
  return new Promise((resolve, reject) => {
    const received = [];
    const call = replication.repair({ from: '9', table: 'users', rangeCount: rows, ranges: [1, 2, 3] }, bearer(), { deadline: deadline() });
    call.on('data', (row) => received.push({ table: row.table, key: row.key.toString('utf8'), clock: row.clock, origin: row.origin, deleted: row.deleted, columns: row.columns.length }));
    call.on('error', reject);
    call.on('end', () => resolve(received));
  });
}

async function main() {
  const result = {};
  result.ping = await ping(bearer());
  result.repair = await repair();
  if (!caFile) {
    const row = (key) => ({ table: 'users', key: Buffer.from(key), clock: '1', origin: '9', columns: [{ index: 0, setClock: '1', intValue: '5' }] });
    result.push = await unary(replication, 'push', { from: '9', rows: [row('a'), row('b')] }, bearer());
    result.leave = await failure(unary(membership, 'leave', { self: { id: '9', address: '127.0.0.1:1' } }, bearer()));
    result.deadline = await failure(unary(membership, 'join', { self: { id: '9', address: '127.0.0.1:1' } }, bearer(), 1000));
    result.digest = await failure(unary(replication, 'digest', { from: '9', table: 'users', ranges: 4 }, bearer()));
  }
  result.unauthenticated = await failure(ping(auth(null)));
  console.log(JSON.stringify(result));
  if (result.unauthenticated.code !== grpc.status.UNAUTHENTICATED) {
    console.error('a Ping without the secret was not refused with UNAUTHENTICATED');
    process.exitCode = 1;
  }
}

main()
  .catch((err) => {
    console.error(`call failed: code=${err.code} details=${err.details || err.message}`);
    process.exitCode = 1;
  })
  .finally(() => {
    membership.close();
    replication.close();
  });
