// Pusher-protocol WebSocket benchmark client (bench/websockets/run.sh): idle connections held,
// fan-out latency of one event to S subscribers, events/s to S subscribers. Prints one JSON line.
// Usage: node bench.js '<json: port, appId, key, secret, idle, subscribers, rounds, events, adminPort>'
'use strict';
const WebSocket = require('ws');
const PusherServer = require('pusher');

const opt = JSON.parse(process.argv[2]);
const api = new PusherServer({ appId: opt.appId, key: opt.key, secret: opt.secret, host: '127.0.0.1', port: String(opt.port), useTLS: false });
const now = () => Number(process.hrtime.bigint()) / 1e6;
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]; };
const rss = async () => {
  const status = await (await fetch(`http://127.0.0.1:${opt.adminPort}/status`)).json();
  return status.workers.reduce((sum, w) => sum + (w.rss_bytes || 0), 0);
};

function open(subscribe) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${opt.port}/app/${opt.key}?protocol=7&client=bench&version=1`, { perMessageDeflate: false });
    ws.on('error', reject);
    ws.on('message', function first(data) {
      const m = JSON.parse(data.toString());
      if (m.event === 'pusher:connection_established') {
        if (!subscribe) { ws.off('message', first); return resolve(ws); }
        ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'bench' } }));
      } else if (m.event === 'pusher_internal:subscription_succeeded') {
        ws.off('message', first);
        resolve(ws);
      }
    });
  });
}

async function openMany(n, subscribe) {
  const sockets = [];
  for (let i = 0; i < n; i += 200) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 200); j++) batch.push(open(subscribe));
    sockets.push(...await Promise.all(batch));
  }
  return sockets;
}

(async () => {
  const out = {};
  const rssBefore = await rss();
  let t = now();
  const idle = await openMany(opt.idle, false);
  out.idle = { connections: idle.length, open_seconds: +((now() - t) / 1000).toFixed(2) };
  await new Promise((r) => setTimeout(r, 1000));
  const rssIdle = await rss();
  out.idle.worker_rss_delta_bytes = rssIdle - rssBefore;
  out.idle.rss_bytes_per_connection = Math.round((rssIdle - rssBefore) / idle.length);

  const subs = await openMany(opt.subscribers, true);
  // Fan-out latency: the event carries its send time; each subscriber records arrival - send.
  const latencies = [];
  for (let round = 0; round < opt.rounds; round++) {
    const arrived = subs.map((ws) => new Promise((resolve) => {
      ws.once('message', (data) => { const m = JSON.parse(data.toString()); resolve(now() - JSON.parse(m.data).t); });
    }));
    await api.trigger('bench', 'tick', { t: now() });
    latencies.push(...await Promise.all(arrived));
  }
  out.fanout = { subscribers: subs.length, rounds: opt.rounds, p50_ms: +pct(latencies, 50).toFixed(2), p99_ms: +pct(latencies, 99).toFixed(2), max_ms: +Math.max(...latencies).toFixed(2) };

  // Throughput: E events as fast as the HTTP API takes them (16 in flight), until every subscriber has all.
  let remaining = subs.length * opt.events;
  const done = new Promise((resolve) => {
    for (const ws of subs) ws.on('message', () => { if (--remaining === 0) resolve(); });
  });
  t = now();
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < opt.events) { next++; await api.trigger('bench', 'burst', { t: now() }); }
  }));
  await done;
  const seconds = (now() - t) / 1000;
  out.throughput = { subscribers: subs.length, events: opt.events, seconds: +seconds.toFixed(2), events_per_second: Math.round(opt.events / seconds), deliveries_per_second: Math.round(opt.events * subs.length / seconds) };
  console.log(JSON.stringify(out));
  for (const ws of [...idle, ...subs]) ws.terminate();
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
