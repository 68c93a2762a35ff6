// Real Pusher-protocol clients for askr's tests: pusher-js (WebSocket), the `pusher` server
// library (HTTP API, real signatures), `ws` for raw frames. Usage:
//   node clients.js <scenario> '<json options>'
// Prints one JSON object (what the scenario observed) on stdout; exits non-zero on a timeout.
'use strict';
const PusherJs = require('pusher-js');
if (process.env.PUSHER_DEBUG) PusherJs.logToConsole = true;
const PusherServer = require('pusher');
const WebSocket = require('ws');

const [scenario, json] = process.argv.slice(2);
const opt = JSON.parse(json || '{}');
const deadline = setTimeout(() => { console.error(`scenario ${scenario}: timed out`); console.log(JSON.stringify(out)); process.exit(3); }, opt.timeoutMs || 15000);
const out = {};

function server(host = opt.host || '127.0.0.1') {
  return new PusherServer({ appId: opt.appId, key: opt.key, secret: opt.secret, host, port: String(opt.port), useTLS: false });
}

function client(user, host = opt.host || '127.0.0.1') {
  const api = server(host);
  return new PusherJs(opt.key, {
    wsHost: host, wsPort: opt.port, forceTLS: false, enabledTransports: ['ws'], cluster: 'mt1', disableStats: true,
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, cb) => {
        if (opt.badAuth) return cb(null, { auth: `${opt.key}:${'0'.repeat(64)}` });
        cb(null, channelName.startsWith('presence-') ? api.authorizeChannel(socketId, channelName, user) : api.authorizeChannel(socketId, channelName));
      },
    },
  });
}

const connected = (p) => new Promise((resolve) => p.connection.bind('connected', () => resolve(p.connection.socket_id)));
const subscribed = (ch) => new Promise((resolve, reject) => { ch.bind('pusher:subscription_succeeded', resolve); ch.bind('pusher:subscription_error', reject); });
const nextEvent = (ch, name) => new Promise((resolve) => ch.bind(name, resolve));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function raw() {
  const ws = new WebSocket(`ws://127.0.0.1:${opt.port}/app/${opt.key}?protocol=7&client=raw&version=1`);
  const messages = [];
  const waiters = [];
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    messages.push(m);
    for (const w of waiters.splice(0)) w();
  });
  ws.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.next = async (pred) => {
    for (;;) {
      const i = messages.findIndex(pred);
      if (i >= 0) return messages.splice(i, 1)[0];
      await new Promise((r) => waiters.push(r));
    }
  };
  ws.opened = new Promise((resolve) => ws.on('open', resolve));
  return ws;
}

const scenarios = {
  // A cluster (opt.hosts: one address per node): a pusher-js subscriber on every node; events
  // triggered through the first node's HTTP API reach each subscriber once and in order, and
  // one triggered with the first subscriber's socket_id reaches only the others. latencyMs: per
  // node, each event's trigger-to-arrival time (same machine clock).
  // A cluster of three (opt.hosts): a watcher (user 2) on the third node; user 1 joins on the
  // first node, then also on the second. Members are the cluster's: each copy of user 1 sees user
  // 2, the watcher sees member_added once and member_removed once, after both copies left.
  // A cluster (opt.hosts): subscribers on the second and third nodes only; the HTTP API of the
  // first node lists their channels with the summed subscription counts.
  async clusterChannels() {
    const [h1, h2, h3] = opt.hosts;
    const b = client(undefined, h2); const c = client(undefined, h3);
    await Promise.all([connected(b), connected(c)]);
    await Promise.all([subscribed(b.subscribe('lobby')), subscribed(c.subscribe('lobby')), subscribed(c.subscribe('other'))]);
    const api = server(h1);
    const get = async (path, params) => (await api.get({ path, params })).json();
    for (;;) {
      out.channels = await get('/channels', { info: 'subscription_count' });
      out.lobby = await get('/channels/lobby', { info: 'subscription_count' });
      const ch = out.channels.channels || {};
      if (ch.lobby && ch.lobby.subscription_count === 2 && ch.other && out.lobby.subscription_count === 2) break;
      await sleep(50);
    }
    b.disconnect(); c.disconnect();
  },
  async clusterPresence() {
    const [h1, h2, h3] = opt.hosts;
    const settle = opt.settleMs || 600;
    const watcher = client({ user_id: '2', user_info: { name: 'Bob' } }, h3);
    await connected(watcher);
    const wch = watcher.subscribe('presence-cl');
    await subscribed(wch);
    const added = []; const removed = [];
    wch.bind('pusher:member_added', (m) => added.push(m.id));
    wch.bind('pusher:member_removed', (m) => removed.push(m.id));
    await sleep(settle);
    const a = client({ user_id: '1', user_info: { name: 'Ada' } }, h1);
    await connected(a);
    out.firstCopySees = Object.keys((await subscribed(a.subscribe('presence-cl'))).members).sort();
    while (added.length < 1) await sleep(20);
    const b = client({ user_id: '1', user_info: { name: 'Ada' } }, h2);
    await connected(b);
    out.secondCopySees = Object.keys((await subscribed(b.subscribe('presence-cl'))).members).sort();
    await sleep(settle);
    out.addedWhileBoth = [...added];
    a.disconnect();
    await sleep(settle);
    out.removedAfterFirst = [...removed];
    b.disconnect();
    while (removed.length < 1) await sleep(20);
    await sleep(300);
    out.added = added;
    out.removed = removed;
    watcher.disconnect();
  },
  // A watcher (user 2) on the first node of opt.hosts sees user 3 join on the second; prints
  // {"ready":true}; the test then kills the second node; the watcher must see user 3 removed.
  async clusterPresenceLoss() {
    const [h1, h2] = opt.hosts;
    const watcher = client({ user_id: '2' }, h1);
    await connected(watcher);
    const wch = watcher.subscribe('presence-loss');
    await subscribed(wch);
    const removed = [];
    let added = false;
    wch.bind('pusher:member_added', (m) => { if (m.id === '3') added = true; });
    wch.bind('pusher:member_removed', (m) => removed.push(m.id));
    const c = client({ user_id: '3' }, h2);
    await connected(c);
    await subscribed(c.subscribe('presence-loss'));
    while (!added) await sleep(20);
    console.log(JSON.stringify({ ready: true }));
    const t0 = Date.now();
    while (!removed.includes('3')) await sleep(20);
    out.removedAfterMs = Date.now() - t0;
    out.removed = removed;
    watcher.disconnect();
  },
  async clusterFanOut() {
    const clients = opt.hosts.map((h) => client(undefined, h));
    const ids = await Promise.all(clients.map(connected));
    const chans = clients.map((c) => c.subscribe('fan'));
    await Promise.all(chans.map(subscribed));
    const got = clients.map(() => []);
    const latency = clients.map(() => []);
    const solo = [];
    chans.forEach((ch, i) => {
      ch.bind('tick', (d) => { got[i].push(d.n); latency[i].push(Date.now() - d.t); });
      ch.bind('solo', () => solo.push(i));
    });
    const api = server(opt.hosts[0]);
    const n = opt.events || 50;
    for (let k = 1; k <= n; k++) await api.trigger('fan', 'tick', { n: k, t: Date.now() });
    await api.trigger('fan', 'solo', { x: 1 }, { socket_id: ids[0] });
    const until = Date.now() + (opt.waitMs || 10000);
    while (Date.now() < until && (got.some((g) => g.length < n) || solo.length < clients.length - 1)) await sleep(20);
    await sleep(300); // a duplicate would arrive by now
    out.received = got;
    out.soloReceivedBy = solo.sort();
    out.latencyMs = latency;
    clients.forEach((c) => c.disconnect());
  },
  // public, private and presence channels with pusher-js; events triggered through the HTTP API.
  async channels() {
    const p = client({ user_id: '7', user_info: { name: 'Ada' } });
    out.socketId = await connected(p);
    const pub = p.subscribe('chat');
    const priv = p.subscribe('private-orders.1');
    const pres = p.subscribe('presence-room');
    // Bound at once: the three answers may come in one read.
    const [, , members] = await Promise.all([subscribed(pub), subscribed(priv), subscribed(pres)]);
    out.presence = { count: members.count, me: members.me && members.me.id, ids: Object.keys(members.members) };
    const got = Promise.all([nextEvent(pub, 'greet'), nextEvent(priv, 'shipped'), nextEvent(pres, 'note')]);
    const api = server();
    const r1 = await api.trigger('chat', 'greet', { hello: 'world' });
    out.triggerStatus = r1.status;
    out.triggerBody = await r1.text();
    await api.trigger(['private-orders.1', 'presence-room'], 'shipped', { id: 1 });
    await api.trigger('presence-room', 'note', 'plain text');
    out.events = await got;
    p.disconnect();
  },
  // Wrong auth for a private channel: pusher:error 4009 and no subscription; the connection stays usable.
  async badAuth() {
    const p = client();
    await connected(p);
    const errors = [];
    p.connection.bind('error', (e) => errors.push(e && e.data ? e.data : e));
    const ch = p.subscribe('private-secret');
    let succeeded = false;
    ch.bind('pusher:subscription_succeeded', () => { succeeded = true; });
    while (errors.length === 0) await sleep(20);
    out.errors = errors;
    const pub = p.subscribe('open');
    await subscribed(pub);
    out.publicAfter = true;
    out.privateSucceeded = succeeded;
    p.disconnect();
  },
  // Presence: user 1 on `copies` connections (spread over the workers), user 2 on one; member_added/removed once per user.
  async presence() {
    const watcher = client({ user_id: '2', user_info: { name: 'Bob' } });
    await connected(watcher);
    const wch = watcher.subscribe('presence-lobby');
    await subscribed(wch);
    const added = []; const removed = [];
    wch.bind('pusher:member_added', (m) => added.push(m.id));
    wch.bind('pusher:member_removed', (m) => removed.push(m.id));
    const copies = [];
    for (let i = 0; i < (opt.copies || 2); i++) copies.push(client({ user_id: '1', user_info: { name: 'Ada' } }));
    await Promise.all(copies.map(connected));
    const counts = [];
    for (const c of copies) counts.push((await subscribed(c.subscribe('presence-lobby'))).count);
    out.countsSeenByCopies = counts;
    while (added.length < 1) await sleep(20);
    const api = server();
    const users = async () => (await (await api.get({ path: '/channels/presence-lobby/users' })).json()).users.map((u) => u.id).sort();
    // The HTTP API lands on either worker; poll until both know (the scenario's deadline bounds it).
    while ((out.usersWhileBoth = await users()).length < 2) await sleep(20);
    for (const c of copies.slice(0, -1)) c.disconnect();
    await sleep(opt.settleMs || 300);
    out.removedAfterFirst = [...removed];
    copies[copies.length - 1].disconnect();
    while (removed.length < 1) await sleep(20);
    out.added = added; out.removed = removed;
    while ((out.usersAfter = await users()).includes('1')) await sleep(20);
    watcher.disconnect();
  },
  // Client events: only on private/presence, not echoed to the sender.
  async clientEvents() {
    const a = client(); const b = client();
    await Promise.all([connected(a), connected(b)]);
    const ca = a.subscribe('private-typing'); const cb = b.subscribe('private-typing');
    await Promise.all([subscribed(ca), subscribed(cb)]);
    let echoed = false;
    ca.bind('client-typing', () => { echoed = true; });
    const got = nextEvent(cb, 'client-typing');
    out.triggered = ca.trigger('client-typing', { who: 'a' });
    out.received = await got;
    await sleep(200);
    out.echoed = echoed;
    a.disconnect(); b.disconnect();
  },
  // HTTP API queries through the pusher library.
  async queries() {
    const a = client({ user_id: 'u1' });
    await connected(a);
    await subscribed(a.subscribe('presence-q'));
    await subscribed(a.subscribe('news'));
    const api = server();
    const get = async (path, params) => { const r = await api.get({ path, params }); return { status: r.status, body: await r.json() }; };
    // Each worker reports its counts to the supervisor as they change, and the call may land on
    // the other worker: poll until the node's counts include this client (the deadline bounds it).
    do { out.channels = await get('/channels', {}); } while (!(out.channels.body.channels || {}).news || !out.channels.body.channels['presence-q']);
    out.presenceChannels = await get('/channels', { filter_by_prefix: 'presence-', info: 'user_count' });
    out.news = await get('/channels/news', { info: 'subscription_count' });
    out.empty = await get('/channels/nobody-here', {});
    try { await api.get({ path: '/channels/news/users' }); } catch (e) { out.usersOfPublic = e.status; }
    const batch = await api.triggerBatch([{ channel: 'news', name: 'a', data: '1' }, { channel: 'news', name: 'b', data: '2' }]);
    out.batchStatus = batch.status;
    a.disconnect();
  },
  // Raw frames: errors for bad input, and the connection keeps working.
  async badInput() {
    const ws = raw();
    const est = await ws.next((m) => m.event === 'pusher:connection_established');
    out.established = JSON.parse(est.data);
    ws.send('this is not json');
    out.notJson = JSON.parse((await ws.next((m) => m.event === 'pusher:error')).data);
    ws.send(JSON.stringify({ event: 'pusher:frobnicate', data: {} }));
    out.unknown = JSON.parse((await ws.next((m) => m.event === 'pusher:error')).data);
    ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'private-x' } }));
    out.noAuth = JSON.parse((await ws.next((m) => m.event === 'pusher:error')).data);
    ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'x', pad: 'y'.repeat(opt.bigBytes || 10 * 1024 * 1024) } }));
    out.tooLarge = JSON.parse((await ws.next((m) => m.event === 'pusher:error')).data);
    ws.send(JSON.stringify({ event: 'client-x', channel: 'public', data: {} }));
    out.clientOnPublic = JSON.parse((await ws.next((m) => m.event === 'pusher:error')).data);
    ws.send(JSON.stringify({ event: 'pusher:ping', data: {} }));
    out.pong = (await ws.next((m) => m.event === 'pusher:pong')).event;
    ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'after' } }));
    out.subscribedAfter = (await ws.next((m) => m.event === 'pusher_internal:subscription_succeeded')).channel;
    ws.close();
  },
  // An unknown app key: the upgrade is accepted, then pusher:error 4001 and close 4001.
  async badKey() {
    opt.key = 'no-such-key';
    const ws = raw();
    out.error = JSON.parse((await ws.next((m) => m.event === 'pusher:error')).data);
    out.close = await ws.closed;
  },
  // A client that never answers the server's ping: closed with 4201.
  async pongTimeout() {
    const ws = raw();
    ws.on('ping', () => {});
    const est = await ws.next((m) => m.event === 'pusher:connection_established');
    out.activityTimeout = JSON.parse(est.data).activity_timeout;
    out.ping = (await ws.next((m) => m.event === 'pusher:ping')).event;
    out.close = await ws.closed;
  },
  // Client-event rate limit: a burst past it closes with 4301.
  async rateLimit() {
    const ws = raw();
    const est = await ws.next((m) => m.event === 'pusher:connection_established');
    const socketId = JSON.parse(est.data).socket_id;
    const auth = server().authorizeChannel(socketId, 'private-burst').auth;
    ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'private-burst', auth } }));
    await ws.next((m) => m.event === 'pusher_internal:subscription_succeeded');
    for (let i = 0; i < (opt.burst || 50); i++) ws.send(JSON.stringify({ event: 'client-spam', channel: 'private-burst', data: { i } }));
    out.close = await ws.closed;
  },
  // Cache channel: a subscriber gets pusher:cache_miss first, the last event once there is one.
  async cache() {
    const first = raw();
    await first.next((m) => m.event === 'pusher:connection_established');
    first.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'cache-prices' } }));
    out.miss = (await first.next((m) => m.event === 'pusher:cache_miss')).channel;
    await server().trigger('cache-prices', 'price', { eur: 1 });
    await server().trigger('cache-prices', 'price', { eur: 2 });
    await first.next((m) => m.event === 'price' && JSON.parse(m.data).eur === 2);
    const second = raw();
    await second.next((m) => m.event === 'pusher:connection_established');
    second.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'cache-prices' } }));
    await second.next((m) => m.event === 'pusher_internal:subscription_succeeded');
    out.replayed = await second.next((m) => m.event === 'price');
    first.close(); second.close();
  },
  // Subscribers spread over many connections (and so over workers); one trigger reaches them all.
  async fanOut() {
    const n = opt.connections || 8;
    const sockets = [];
    for (let i = 0; i < n; i++) {
      const ws = raw();
      await ws.next((m) => m.event === 'pusher:connection_established');
      ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'fan' } }));
      await ws.next((m) => m.event === 'pusher_internal:subscription_succeeded');
      sockets.push(ws);
    }
    const got = sockets.map((ws) => ws.next((m) => m.event === 'hello'));
    const triggers = opt.triggers || 1;
    for (let t = 0; t < triggers; t++) await server().trigger('fan', 'hello', { t });
    out.received = (await Promise.all(got)).length;
    out.order = true;
    for (const ws of sockets) {
      for (let t = 1; t < triggers; t++) {
        const m = await ws.next((x) => x.event === 'hello');
        if (JSON.parse(m.data).t !== t) out.order = false;
      }
      ws.close();
    }
  },
  // Ephpm\Octane\broadcast() from PHP (the test router's /broadcast) reaches subscribers on every worker, except the given socket.
  async nativeBroadcast() {
    const n = opt.connections || 8;
    const sockets = [];
    for (let i = 0; i < n; i++) {
      const ws = raw();
      ws.socketId = JSON.parse((await ws.next((m) => m.event === 'pusher:connection_established')).data).socket_id;
      ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'native-news' } }));
      await ws.next((m) => m.event === 'pusher_internal:subscription_succeeded');
      sockets.push(ws);
    }
    let excludedGot = false;
    sockets[0].on('message', (d) => { if (JSON.parse(d.toString()).event === 'from-php') excludedGot = true; });
    const got = sockets.slice(1).map((ws) => ws.next((m) => m.event === 'from-php'));
    const post = async (body) => (await fetch(`http://127.0.0.1:${opt.port}/broadcast`, { method: 'POST', body: JSON.stringify(body) })).json();
    out.result = await post({ channels: ['native-news', 'other'], event: 'from-php', data: '{"n":1}', except: sockets[0].socketId });
    const messages = await Promise.all(got);
    out.received = messages.length;
    out.data = messages[0].data;
    out.invalid = await post({ channels: ['bad channel!'], event: 'x', data: '' });
    out.none = await post({ channels: [], event: 'x', data: '' });
    // The excluded socket: the others got the event; give its copy, if any, the same moment.
    await sleep(200);
    out.excludedGot = excludedGot;
    for (const ws of sockets) ws.close();
  },
  // Laravel Echo against the example Laravel app on octane:start --server=askr: sessions from POST /login,
  // private and presence channels authorized by Laravel's /broadcasting/auth, events from ShouldBroadcastNow.
  async echo() {
    const Echo = require('laravel-echo').default;
    const base = `http://127.0.0.1:${opt.port}`;
    const login = async (email) => {
      const r = await fetch(`${base}/login`, { method: 'POST', headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' }, body: `email=${encodeURIComponent(email)}&password=secret` });
      if (r.status !== 200) throw new Error(`login ${email}: ${r.status} ${await r.text()}`);
      const jar = {};
      for (const c of r.headers.getSetCookie()) { const [pair] = c.split(';'); const i = pair.indexOf('='); jar[pair.slice(0, i)] = pair.slice(i + 1); }
      return jar;
    };
    const echoFor = (jar) => new Echo({
      broadcaster: 'pusher', key: opt.key, wsHost: '127.0.0.1', wsPort: opt.port, forceTLS: false, enabledTransports: ['ws'], cluster: 'mt1', disableStats: true,
      Pusher: PusherJs,
      // What a browser's Echo does: POST /broadcasting/auth with the session cookie and the X-XSRF-TOKEN header.
      channelAuthorization: {
        customHandler: async ({ socketId, channelName }, cb) => {
          const r = await fetch(`${base}/broadcasting/auth`, {
            method: 'POST',
            headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded', Cookie: Object.entries(jar).map(([k, v]) => `${k}=${v}`).join('; '), 'X-XSRF-TOKEN': decodeURIComponent(jar['XSRF-TOKEN'] || '') },
            body: `socket_id=${encodeURIComponent(socketId)}&channel_name=${encodeURIComponent(channelName)}`,
          });
          if (r.status !== 200) return cb(new Error(`auth ${channelName}: ${r.status}`), null);
          cb(null, await r.json());
        },
      },
    });
    const subscribedTo = (ch) => new Promise((resolve, reject) => { ch.subscribed(resolve); ch.error(reject); });
    const listen = (ch) => new Promise((resolve) => ch.listen('.example', resolve));
    const broadcast = async (kind, channel, message) => {
      const r = await fetch(`${base}/broadcast`, { method: 'POST', headers: { Accept: 'application/json', 'Content-Type': 'application/json' }, body: JSON.stringify({ kind, channel, message }) });
      if (r.status !== 200) throw new Error(`broadcast: ${r.status} ${await r.text()}`);
    };

    const ada = echoFor(await login('ada@example.test'));
    const news = ada.channel('news');
    const orders = ada.private(`orders.${opt.adaId || 1}`);
    let here = null;
    const joining = []; const leaving = [];
    const room = ada.join('room.1').here((users) => { here = users.map((u) => u.name); }).joining((u) => joining.push(u.name)).leaving((u) => leaving.push(u.name));
    await Promise.all([subscribedTo(news), subscribedTo(orders), subscribedTo(room)]);
    out.here = here;
    const got = Promise.all([listen(news), listen(orders), listen(room)]);
    await broadcast('public', 'news', 'hello public');
    await broadcast('private', `orders.${opt.adaId || 1}`, 'hello private');
    await broadcast('presence', 'room.1', 'hello presence');
    out.events = await got;

    // Another user's private channel: Laravel answers 403, the subscription fails.
    try { await subscribedTo(ada.private('orders.999')); out.foreignPrivate = 'subscribed'; } catch (e) { out.foreignPrivate = 'refused'; }

    // Grace joins and leaves the presence channel.
    const grace = echoFor(await login('grace@example.test'));
    const graceRoom = grace.join('room.1');
    await subscribedTo(graceRoom);
    while (joining.length < 1) await sleep(20);
    grace.disconnect();
    while (leaving.length < 1) await sleep(20);
    out.joining = joining; out.leaving = leaving;
    ada.disconnect();
  },
  // terminate_connections: every connection of the user, on any worker, is closed; others stay.
  async terminate() {
    const n = opt.copies || 6;
    const victims = [];
    for (let i = 0; i < n; i++) {
      const ws = raw();
      const socketId = JSON.parse((await ws.next((m) => m.event === 'pusher:connection_established')).data).socket_id;
      const channelData = JSON.stringify({ user_id: 'doomed' });
      const { auth } = server().authorizeChannel(socketId, 'presence-t', { user_id: 'doomed' });
      ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'presence-t', auth, channel_data: channelData } }));
      await ws.next((m) => m.event === 'pusher_internal:subscription_succeeded');
      victims.push(ws);
    }
    const bystander = raw();
    await bystander.next((m) => m.event === 'pusher:connection_established');
    const r = await server().terminateUserConnections('doomed');
    out.status = r.status;
    out.closes = (await Promise.all(victims.map((ws) => ws.closed))).map((c) => c.code);
    bystander.send(JSON.stringify({ event: 'pusher:ping', data: {} }));
    out.bystander = (await bystander.next((m) => m.event === 'pusher:pong')).event;
    bystander.close();
  },
  // pusher:signin (user authentication): pusher-js signs in through userAuthentication's
  // customHandler (the `pusher` library's authenticateUser), subscribes to its
  // #server-to-user-{id} channel and gets what the library's sendToUser sends; a raw client with
  // a bad signature gets pusher:error 4009 and stays connected, and may not subscribe to another
  // user's channel; terminate_connections closes every connection signed in as the user (opt.copies).
  async signin() {
    const api = server();
    const p = new PusherJs(opt.key, {
      wsHost: '127.0.0.1', wsPort: opt.port, forceTLS: false, enabledTransports: ['ws'], cluster: 'mt1', disableStats: true,
      userAuthentication: { customHandler: ({ socketId }, cb) => cb(null, api.authenticateUser(socketId, { id: 'u1', user_info: { name: 'Ada' } })) },
    });
    await connected(p);
    p.signin();
    await p.user.signinDonePromise;
    out.userData = p.user.user_data;
    while (!(p.user.serverToUserChannel && p.user.serverToUserChannel.subscribed)) await sleep(20);
    const got = new Promise((resolve) => p.user.bind('greeting', resolve));
    await api.sendToUser('u1', 'greeting', { hi: 1 });
    out.toUser = await got;

    const bad = raw();
    await bad.next((m) => m.event === 'pusher:connection_established');
    bad.send(JSON.stringify({ event: 'pusher:signin', data: { auth: `${opt.key}:${'0'.repeat(64)}`, user_data: '{"id":"u1"}' } }));
    const e1 = await bad.next((m) => m.event === 'pusher:error');
    out.badSignin = typeof e1.data === 'string' ? JSON.parse(e1.data) : e1.data;
    bad.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: '#server-to-user-u1' } }));
    const e2 = await bad.next((m) => m.event === 'pusher:error');
    out.otherUsersChannel = typeof e2.data === 'string' ? JSON.parse(e2.data) : e2.data;
    bad.send(JSON.stringify({ event: 'pusher:ping', data: {} }));
    out.badStillOpen = (await bad.next((m) => m.event === 'pusher:pong')).event;

    const victims = [];
    for (let i = 0; i < (opt.copies || 6); i++) {
      const ws = raw();
      const socketId = JSON.parse((await ws.next((m) => m.event === 'pusher:connection_established')).data).socket_id;
      ws.send(JSON.stringify({ event: 'pusher:signin', data: api.authenticateUser(socketId, { id: 'u2' }) }));
      const ok = await ws.next((m) => m.event === 'pusher:signin_success' || m.event === 'pusher:error');
      if (ok.event !== 'pusher:signin_success') throw new Error(`signin failed: ${JSON.stringify(ok)}`);
      victims.push(ws);
    }
    out.terminateStatus = (await api.terminateUserConnections('u2')).status;
    out.closes = (await Promise.all(victims.map((ws) => ws.closed))).map((c) => c.code);
    bad.send(JSON.stringify({ event: 'pusher:ping', data: {} }));
    out.bystander = (await bad.next((m) => m.event === 'pusher:pong')).event;
    out.signedInStillConnected = p.connection.state;
    bad.close();
    p.disconnect();
  },
  // What the webhooks report: two presence members (w1, w2) join presence-wh, w2 sends a client
  // event, both leave. socketIdB: w2's socket id (the client_event's socket_id).
  async webhookTraffic() {
    const a = client({ user_id: 'w1' });
    await connected(a);
    await subscribed(a.subscribe('presence-wh'));
    const b = client({ user_id: 'w2' });
    out.socketIdB = await connected(b);
    const bch = b.subscribe('presence-wh');
    await subscribed(bch);
    const got = nextEvent(a.channel('presence-wh'), 'client-hi');
    bch.trigger('client-hi', { x: 1 });
    out.clientEvent = await got;
    a.disconnect();
    await sleep(opt.settleMs || 300);
    b.disconnect();
    await sleep(100);
  },
  // The `pusher` library's webhook check on requests a test received (opt.requests: [{key, signature, contentType, body}]).
  async verifyWebhooks() {
    const api = server();
    out.valid = []; out.events = [];
    for (const r of opt.requests) {
      const hook = api.webhook({ headers: { 'x-pusher-key': r.key, 'x-pusher-signature': r.signature, 'content-type': r.contentType }, rawBody: r.body });
      out.valid.push(hook.isValid());
      if (hook.isValid()) out.events.push(...hook.getEvents());
      out.timeMs = hook.getTime().getTime();
    }
    const forged = api.webhook({ headers: { 'x-pusher-key': opt.key, 'x-pusher-signature': '0'.repeat(64), 'content-type': 'application/json' }, rawBody: opt.requests[0].body });
    out.forgedValid = forged.isValid();
  },
  // Connects, says so on stdout ({"ready":true} line), and reports the close code the server sends (server shutdown).
  // wss on the HTTPS listener (opt.tlsPort, a self-signed certificate): the Pusher handshake.
  async tlsConnect() {
    const ws = new WebSocket(`wss://127.0.0.1:${opt.tlsPort}/app/${opt.key}?protocol=7&client=raw&version=1`, { rejectUnauthorized: false });
    const m = await new Promise((resolve, reject) => { ws.on('message', (d) => resolve(JSON.parse(d.toString()))); ws.on('error', reject); });
    out.event = m.event;
    out.data = JSON.parse(m.data);
    ws.close();
  },
  async awaitClose() {
    const ws = raw();
    await ws.next((m) => m.event === 'pusher:connection_established');
    console.log(JSON.stringify({ ready: true }));
    out.close = await ws.closed;
  },
  // A subscriber that stops reading is closed with 4100 once its queue is full; another subscriber gets every event.
  async slowReader() {
    const fast = raw(); const slow = raw();
    for (const ws of [fast, slow]) {
      await ws.next((m) => m.event === 'pusher:connection_established');
      ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'flood' } }));
      await ws.next((m) => m.event === 'pusher_internal:subscription_succeeded');
    }
    let fastGot = 0;
    fast.on('message', (d) => { if (JSON.parse(d.toString()).event === 'big') fastGot++; });
    slow._socket.pause();
    const api = server();
    const data = 'x'.repeat(9000);
    let sent = 0;
    out.slowClosedAfter = null;
    for (let batch = 0; batch < (opt.maxBatches || 600); batch++) {
      await api.triggerBatch(Array.from({ length: 10 }, () => ({ channel: 'flood', name: 'big', data })));
      sent += 10;
      if (batch % 10 === 9) {
        const info = await (await api.get({ path: '/channels/flood', params: { info: 'subscription_count' } })).json();
        if (info.subscription_count === 1) { out.slowClosedAfter = sent; break; }
      }
    }
    out.sent = sent;
    // Dropped at the latest CloseGrace (5 s) after its queue overflowed; the scenario's deadline bounds the poll.
    while (out.slowClosedAfter === null) {
      const info = await (await api.get({ path: '/channels/flood', params: { info: 'subscription_count' } })).json();
      if (info.subscription_count === 1) out.slowClosedAfter = sent; else await sleep(100);
    }
    while (fastGot < sent) await sleep(20);
    out.fastGot = fastGot;
    slow._socket.resume();
    out.slowClose = (await slow.closed).code;
    fast.close();
  },
  // 10,000 subscribe messages in one burst: 100 subscriptions (the per-connection limit), errors for the rest (or 4100 if the client cannot read them fast enough).
  async subscribeBurst() {
    const ws = raw();
    await ws.next((m) => m.event === 'pusher:connection_established');
    let ok = 0; let errors = 0;
    ws.on('message', (d) => { const m = JSON.parse(d.toString()); if (m.event === 'pusher_internal:subscription_succeeded') ok++; else if (m.event === 'pusher:error') errors++; });
    let payload = '';
    for (let i = 0; i < 10000; i++) ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: `burst-${i}` } }));
    const closed = ws.closed.then((c) => c.code);
    while (ok + errors < 10000) {
      const r = await Promise.race([closed, sleep(50).then(() => null)]);
      if (r !== null) { out.close = r; break; }
    }
    out.ok = ok; out.errors = errors;
    if (out.close === undefined) ws.close();
  },
  // --pusher-max-connections (opt.limit) over the node's workers: opt.limit raw connections are
  // established, and once the workers heard the counts (opt.settleMs) the next one gets
  // pusher:error 4004 and close 4004; the HTTP API still answers and delivers; once one closes,
  // a new connection is established again.
  async connectionQuota() {
    const held = [];
    for (let i = 0; i < opt.limit; i++) {
      const ws = raw();
      await ws.next((m) => m.event === 'pusher:connection_established');
      held.push(ws);
    }
    out.established = held.length;
    // Under the limit nothing is refused, however stale a worker's counts; past it the workers must have heard.
    await sleep(opt.settleMs || 1500);
    const over = raw();
    const error = await over.next((m) => m.event === 'pusher:error');
    out.error = typeof error.data === 'string' ? JSON.parse(error.data) : error.data;
    out.close = await over.closed;
    held[0].send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'quota' } }));
    await held[0].next((m) => m.event === 'pusher_internal:subscription_succeeded');
    try { await server().trigger('quota', 'still', { ok: 1 }); out.triggerStatus = 200; } catch (e) { out.triggerStatus = e.status; }
    out.delivered = (await held[0].next((m) => m.event === 'still')).event;
    held.pop().close();
    // The freed place is seen by every worker after the supervisor's report: retry a little.
    for (let attempt = 0; attempt < 150 && out.afterClose === undefined; attempt++) {
      await sleep(100);
      const again = raw();
      const m = await again.next((x) => x.event === 'pusher:connection_established' || x.event === 'pusher:error');
      if (m.event === 'pusher:connection_established') { out.afterClose = attempt; held.push(again); }
      else await again.closed;
    }
    for (const ws of held) ws.close();
  },
  // A trigger with a wrong secret: 401 and nothing delivered.
  async badSignature() {
    const ws = raw();
    await ws.next((m) => m.event === 'pusher:connection_established');
    ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'guarded' } }));
    await ws.next((m) => m.event === 'pusher_internal:subscription_succeeded');
    const bad = new PusherServer({ appId: opt.appId, key: opt.key, secret: 'wrong-secret', host: '127.0.0.1', port: String(opt.port), useTLS: false });
    try { await bad.trigger('guarded', 'nope', {}); out.status = 200; } catch (e) { out.status = e.status; out.body = e.body; }
    await server().trigger('guarded', 'yes', {});
    out.first = (await ws.next((m) => m.event === 'yes' || m.event === 'nope')).event;
    ws.close();
  },
};

scenarios[scenario]().then(() => {
  clearTimeout(deadline);
  console.log(JSON.stringify(out));
  setTimeout(() => process.exit(0), 50);
}, (e) => {
  console.error(e && e.stack || String(e));
  console.log(JSON.stringify(out));
  process.exit(2);
});
