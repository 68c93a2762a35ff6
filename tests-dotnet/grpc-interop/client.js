#!/usr/bin/env node
// A real gRPC client (grpc-js) against an askr cluster endpoint:
//   node client.js <host:port> <secret> [repair-rows]
// Calls Membership.Ping (unary, with the bearer secret), Replication.Repair (server streaming),
// and Ping without the secret (must be refused); prints the results as one JSON object and
// exits non-zero when a call does not behave.
'use strict';
const { grpc, load } = require('./cluster');

const [address, secret, rowsArg] = process.argv.slice(2);
if (!address || !secret) {
  console.error('usage: node client.js <host:port> <secret> [repair-rows]');
  process.exit(2);
}
const rows = Number(rowsArg || 100);
const v1 = load();
const credentials = grpc.credentials.createInsecure();
const membership = new v1.Membership(address, credentials);
const replication = new v1.Replication(address, credentials);

function auth(value) {
  const metadata = new grpc.Metadata();
  if (value !== null) metadata.set('authorization', value);
  return metadata;
}
const deadline = () => new Date(Date.now() + 5000);

function ping(metadata) {
  return new Promise((resolve, reject) => {
    membership.ping(
      { from: '12345678901234567890', sequence: 42, gossip: { members: [{ id: '1', address: '127.0.0.1:7001', incarnation: 3, state: 'MEMBER_STATE_SUSPECT' }] } },
      metadata, { deadline: deadline() },
      (err, ack) => (err ? reject(err) : resolve(ack)));
  });
}

function repair() {
  return new Promise((resolve, reject) => {
    const received = [];
    const call = replication.repair({ from: '9', table: 'users', rangeCount: rows, ranges: [1, 2, 3] }, auth('Bearer ' + secret), { deadline: deadline() });
    call.on('data', (row) => received.push({ table: row.table, key: row.key.toString('utf8'), clock: row.clock, origin: row.origin, deleted: row.deleted, columns: row.columns.length }));
    call.on('error', reject);
    call.on('end', () => resolve(received));
  });
}

async function main() {
  const result = {};
  result.ping = await ping(auth('Bearer ' + secret));
  result.repair = await repair();
  try {
    await ping(auth(null));
    result.unauthenticated = { code: 0 };
  } catch (err) {
    result.unauthenticated = { code: err.code, details: err.details };
  }
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
