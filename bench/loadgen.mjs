// Load generator for chat-on-flask: real Socket.IO clients over real WebSockets.
//
// Driven by bench/run.py: one scenario per invocation, its JSON configuration on stdin
// (or as the first argument), its result as one JSON object on stdout; progress on stderr.
// Every client is socket.io-client 4.8.4 with transports: ["websocket"] and auth: {token},
// one connection (one Manager) per user. permessage-deflate is not offered unless
// cfg.per_message_deflate: inflating every frame tripled this process's CPU per delivery,
// and it must not be the bottleneck. Server CPU (utime + stime) and RSS are read from
// /proc/<server_pid>/ at the edges of each measured window, on the same clock as the
// latencies (performance.now()).
//
// Scenarios (cfg.scenario):
//   fanout   R rooms x C clients, S senders, open-loop rate, duration
//   findmax  fan-out at rising rates until p99 > limit or any loss; the highest rate held
//   join     time from emitting joined_room to rejoin_room (or to the ack when no history
//            is expected), a fresh connection per join
//   connect_join  server CPU per connect + join, over many connections kept open
//   idle     N authenticated idle connections; RSS per connection
//   ingest   K clients in rooms of their own, each sending the next message on the ack
//   abuse    one client's send_message ack round trip, quiet and then while someone
//            registers accounts, sends 900 kB frames unauthenticated, or floods typing
//            (the flooder is a worker thread with an event loop of its own, so that the
//            flood's own work in Node is not counted in the probe's round trips)
//
//   echo '{"scenario":"fanout", ...}' | node bench/loadgen.mjs

import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { performance } from "node:perf_hooks";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { io } from "socket.io-client";

// A worker thread (the typing flooder of the abuse scenario) gets its cfg from its parent.
const cfg = isMainThread ? JSON.parse(process.argv[2] ?? readFileSync(0, "utf8")) : workerData;
const URL = cfg.url;
const PID = cfg.server_pid;
const CLK_TCK = cfg.clk_tck ?? 100;
const now = () => performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (...args) => {
  if (!cfg.quiet) console.error("[loadgen]", ...args);
};

// --- measurements ----------------------------------------------------------------------

function serverCpuMs() {
  if (!PID) return 0;
  const stat = readFileSync(`/proc/${PID}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields[0] is field 3
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK; // utime + stime
}

function serverRssKiB() {
  if (!PID) return 0;
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${PID}/status`, "utf8"));
  return match ? Number(match[1]) : 0;
}

function serverFds() {
  try {
    return readdirSync(`/proc/${PID}/fd`).length;
  } catch {
    return null;
  }
}

// CPU time of the whole machine (all CPUs, ms): busy and total, from /proc/stat.
function machineCpuMs() {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0];
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = ticks[3] + ticks[4]; // idle + iowait
  return { busy: ((total - idle) * 1000) / CLK_TCK, total: (total * 1000) / CLK_TCK };
}

function mark() {
  return { t: now(), server: serverCpuMs(), loadgen: process.cpuUsage(), machine: machineCpuMs() };
}

function window(from, to = mark()) {
  const wall = (to.t - from.t) / 1000;
  const loadgen =
    (to.loadgen.user - from.loadgen.user + to.loadgen.system - from.loadgen.system) / 1e6;
  const server = (to.server - from.server) / 1000;
  const busy = (to.machine.busy - from.machine.busy) / 1000;
  const total = (to.machine.total - from.machine.total) / 1000;
  return {
    wall_s: round(wall, 3),
    server_cpu_s: round(server, 3),
    server_cpu_pct: round((100 * server) / wall, 1),
    loadgen_cpu_s: round(loadgen, 3),
    loadgen_cpu_pct: round((100 * loadgen) / wall, 1),
    // Everything else that ran meanwhile (PostgreSQL, other people's tests), % of one CPU.
    other_cpu_pct: round((100 * (busy - server - loadgen)) / wall, 1),
    machine_busy_pct: total > 0 ? round((100 * busy) / total, 1) : null,
  };
}

function round(x, digits = 2) {
  if (!Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function quantiles(values) {
  if (values.length === 0) return { n: 0, p50: null, p99: null, max: null };
  const sorted = Float64Array.from(values).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    n: sorted.length,
    p50: round(at(0.5)),
    p99: round(at(0.99)),
    max: round(sorted[sorted.length - 1]),
  };
}

function countInto(counts, key) {
  counts[key] = (counts[key] ?? 0) + 1;
}

// --- connections -----------------------------------------------------------------------

let unexpectedDisconnects = 0;
const disconnectReasons = {};

function connectOne(token, timeoutMs = cfg.connect_timeout_ms ?? 10000) {
  return new Promise((resolve) => {
    const socket = io(URL, {
      transports: ["websocket"],
      auth: { token },
      forceNew: true,
      reconnection: false,
      timeout: timeoutMs,
      perMessageDeflate: cfg.per_message_deflate ?? false,
    });
    let settled = false;
    const backstop = setTimeout(() => finish("timeout"), timeoutMs + 2000);
    function finish(error) {
      if (settled) return;
      settled = true;
      clearTimeout(backstop);
      if (error) {
        socket.removeAllListeners();
        socket.disconnect();
        resolve({ error });
      } else {
        socket.on("disconnect", (reason) => {
          if (socket.closing) return;
          unexpectedDisconnects += 1;
          countInto(disconnectReasons, reason);
        });
        resolve({ socket });
      }
    }
    socket.once("connect", () => finish(null));
    socket.once("connect_error", (err) => finish(String(err?.message ?? err)));
  });
}

function close(socket) {
  if (!socket) return;
  socket.closing = true;
  socket.disconnect();
}

// Opens one connection per token, `concurrency` at a time. Stops trying after
// `maxConsecutiveFailures` failures in a row (a server at its connection cap leaves new
// connections in the listen backlog until they time out: trying thousands more would
// only take minutes), counting the ones not tried as not connected.
async function connectMany(tokens, { concurrency = 50, maxConsecutiveFailures = Infinity } = {}) {
  const sockets = new Array(tokens.length).fill(null);
  const errors = {};
  let next = 0;
  let ok = 0;
  let failed = 0;
  let streak = 0;
  let stopped = false;
  let lastReport = now();
  async function worker() {
    while (!stopped && next < tokens.length) {
      const i = next++;
      const result = await connectOne(tokens[i]);
      if (result.socket) {
        sockets[i] = result.socket;
        ok += 1;
        streak = 0;
      } else {
        failed += 1;
        streak += 1;
        countInto(errors, result.error);
        if (streak >= maxConsecutiveFailures) stopped = true;
      }
      if (now() - lastReport > 5000) {
        lastReport = now();
        log(`connected ${ok}/${tokens.length} (${failed} failed)`);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, tokens.length) }, worker));
  return {
    sockets,
    ok,
    failed,
    not_tried: tokens.length - ok - failed,
    stopped_early: stopped,
    errors,
  };
}

function emitAck(socket, event, data, timeoutMs = cfg.ack_timeout_ms ?? 10000) {
  return new Promise((resolve) => {
    const t0 = now();
    socket.timeout(timeoutMs).emit(event, data, (err, response) => {
      resolve({ err: err ? "ack timeout" : null, response, ms: now() - t0 });
    });
  });
}

function ackError(result) {
  if (result.err) return result.err;
  if (!result.response?.ok) return result.response?.error?.code ?? "not ok";
  return null;
}

// Joins each socket to its room; `members[i]` says whether socket i is in it (a socket
// whose join failed receives nothing and must not be counted as a receiver).
async function joinAll(sockets, roomOf) {
  const errors = {};
  const members = sockets.map(() => false);
  let ok = 0;
  await Promise.all(
    sockets.map(async (socket, i) => {
      if (!socket) return;
      const error = ackError(await emitAck(socket, "joined_room", { room: roomOf(i) }));
      if (error) countInto(errors, error);
      else {
        ok += 1;
        members[i] = true;
      }
    }),
  );
  if (Object.keys(errors).length) log(`joins failed: ${JSON.stringify(errors)}`);
  return { ok, errors, members };
}

// --- fan-out ---------------------------------------------------------------------------

// Receivers hand every recieve_message to the step being measured; the message text
// starts with its send time on this process's clock.
let currentStep = null;
let strayDeliveries = 0;

function onRecieve(message) {
  const t = now();
  const step = currentStep;
  const clientId = message?.client_id;
  if (!step || typeof clientId !== "string" || !clientId.startsWith(step.prefix)) {
    strayDeliveries += 1;
    return;
  }
  if (step.closed) {
    step.late += 1;
    step.lastActivity = t;
    return;
  }
  step.latencies.push(t - Number.parseFloat(message.message));
  step.received += 1;
  step.lastReceive = t;
  step.lastActivity = t;
}

async function setUpFanout(tokens, rooms, clientsPerRoom, senders) {
  const needed = rooms.length * clientsPerRoom;
  if (tokens.length < needed) throw new Error(`fan-out needs ${needed} tokens`);
  const connected = await connectMany(tokens.slice(0, needed), {
    concurrency: cfg.connect_concurrency ?? 50,
  });
  const roomOf = (i) => rooms[i % rooms.length];
  const joined = await joinAll(connected.sockets, roomOf);
  const members = new Array(rooms.length).fill(0);
  connected.sockets.forEach((socket, i) => {
    if (!socket || !joined.members[i]) return;
    socket.on("recieve_message", onRecieve);
    members[i % rooms.length] += 1;
  });
  // Sender j is the j-th client of room j % R, so every room gets the same share.
  const senderList = [];
  for (let j = 0; j < senders; j++) {
    const socket = connected.sockets[j];
    if (socket) senderList.push({ socket, room: roomOf(j), roomIndex: j % rooms.length });
  }
  return {
    sockets: connected.sockets,
    senders: senderList,
    members,
    setup: {
      clients: needed,
      connected: connected.ok,
      connect_errors: connected.errors,
      joined: joined.ok,
      join_errors: joined.errors,
      senders: senderList.length,
    },
  };
}

let stepCounter = 0;
const runTag = `${process.pid.toString(36)}${Date.now().toString(36)}`;

// One open-loop step: `rate` messages/s in total for `durationS`, spread evenly over time
// and round-robin over the senders, without waiting for acks.
async function fanoutStep(group, rate, durationS, { drainMs = 2000, settleMaxMs = 20000 } = {}) {
  const prefix = `${runTag}.${stepCounter++}.`;
  const total = Math.max(1, Math.round(rate * durationS));
  const interval = 1000 / rate;
  const S = group.senders.length;
  let expected = 0;
  const step = {
    prefix,
    latencies: [],
    received: 0,
    late: 0,
    closed: false,
    lastReceive: 0,
    lastActivity: 0,
  };
  const acks = { ok: 0, failed: 0, pending: 0, errors: {}, latencies: [] };
  const lags = [];
  currentStep = step;
  const start = mark();
  const t0 = start.t + 5;
  let lastSend = t0;
  let k = 0;

  function send(i) {
    const sender = group.senders[i % S];
    expected += group.members[sender.roomIndex];
    const clientId = `${prefix}${i}`;
    const t = now();
    acks.pending += 1;
    sender.socket
      .timeout(cfg.ack_timeout_ms ?? 10000)
      .emit(
        "send_message",
        { room: sender.room, message: `${t.toFixed(3)} ${clientId}`, client_id: clientId },
        (err, response) => {
          acks.pending -= 1;
          step.lastActivity = now();
          if (err) {
            acks.failed += 1;
            countInto(acks.errors, "ack timeout");
          } else if (response?.ok) {
            acks.ok += 1;
            acks.latencies.push(now() - t);
          } else {
            acks.failed += 1;
            countInto(acks.errors, response?.error?.code ?? "not ok");
          }
        },
      );
    lastSend = t;
  }

  await new Promise((resolve) => {
    function tick() {
      const t = now();
      while (k < total && t0 + k * interval <= t) {
        lags.push(t - (t0 + k * interval));
        send(k);
        k += 1;
      }
      if (k >= total) return resolve();
      setTimeout(tick, Math.max(0, t0 + k * interval - now()));
    }
    setTimeout(tick, Math.max(0, t0 - now()));
  });

  // Verdict: what arrived within drainMs of the last send.
  const deadline = lastSend + drainMs;
  while (now() < deadline && (step.received < expected || acks.pending > 0)) await sleep(10);
  const end = mark();
  step.closed = true;
  const latency = quantiles(step.latencies);
  const ackLatency = quantiles(acks.latencies);
  const spanS = Math.max(1e-3, ((step.lastReceive || end.t) - t0) / 1000);
  const result = {
    rate,
    duration_s: durationS,
    messages: total,
    expected,
    received: step.received,
    lost: expected - step.received,
    deliveries_per_s: round(step.received / spanS, 1),
    latency_ms: latency,
    acks_ok: acks.ok,
    acks_failed: acks.failed,
    acks_pending_at_verdict: acks.pending,
    ack_errors: acks.errors,
    ack_latency_ms: ackLatency,
    send_lag_ms: quantiles(lags),
    ...window(start, end),
  };
  // Let the server catch up before anything else is measured: every ack answered (or
  // timed out) and no delivery for 300 ms.
  const settleEnd = now() + settleMaxMs;
  while (now() < settleEnd) {
    if (acks.pending === 0 && now() - Math.max(step.lastActivity, end.t) > 300) break;
    await sleep(20);
  }
  result.late_deliveries = step.late;
  result.acks_failed_after_verdict = acks.failed - result.acks_failed;
  result.settle_s = round((now() - end.t) / 1000, 2);
  currentStep = null;
  return result;
}

function held(result) {
  return (
    result.lost === 0 &&
    result.acks_failed === 0 &&
    result.acks_pending_at_verdict === 0 &&
    result.latency_ms.p99 !== null &&
    result.latency_ms.p99 <= (cfg.p99_limit_ms ?? 200)
  );
}

function closeAll(sockets) {
  for (const socket of sockets) close(socket);
}

async function scenarioFanout() {
  const group = await setUpFanout(cfg.tokens, cfg.rooms, cfg.clients_per_room, cfg.senders);
  try {
    if (cfg.warmup_s > 0) await fanoutStep(group, cfg.rate, cfg.warmup_s);
    const result = await fanoutStep(group, cfg.rate, cfg.duration_s, { drainMs: cfg.drain_ms });
    return { setup: group.setup, ...result };
  } finally {
    closeAll(group.sockets);
  }
}

async function scenarioFindmax() {
  const group = await setUpFanout(cfg.tokens, cfg.rooms, cfg.clients_per_room, cfg.senders);
  const steps = [];
  const started = now();
  const budgetMs = (cfg.budget_s ?? 120) * 1000;
  const factor = cfg.factor ?? 2;
  const maxSteps = cfg.max_steps ?? 20;
  // A failed step is tried again (confirm_failures times) before the rate counts as
  // failed: the machine is shared, and one noisy second should not decide.
  const step = async (rate) => {
    for (let attempt = 0; attempt <= (cfg.confirm_failures ?? 0); attempt++) {
      const r = await fanoutStep(group, rate, cfg.step_s, { drainMs: cfg.drain_ms });
      r.held = held(r);
      r.attempt = attempt + 1;
      steps.push(r);
      log(
        `find-max ${cfg.rooms.length}x${cfg.clients_per_room} ${rate}/s: ${r.held ? "held" : "failed"}` +
          ` p99=${r.latency_ms.p99} lost=${r.lost} server=${r.server_cpu_pct}% loadgen=${r.loadgen_cpu_pct}%`,
      );
      if (r.held) return true;
      if (!inBudget()) break;
    }
    return false;
  };
  const inBudget = () => now() - started < budgetMs && steps.length < maxSteps;
  let best = 0;
  let failedAt = null;
  try {
    if (cfg.warmup_s > 0) await fanoutStep(group, cfg.start_rate, cfg.warmup_s);
    let rate = cfg.start_rate;
    while (rate <= cfg.max_rate && inBudget()) {
      if (!(await step(rate))) {
        failedAt = rate;
        break;
      }
      best = rate;
      rate = Math.round(rate * factor);
    }
    // Failed at the first rate: come down until one holds.
    while (best === 0 && failedAt !== null && inBudget()) {
      const lower = Math.floor(failedAt / factor);
      if (lower < (cfg.min_rate ?? 1)) break;
      if (await step(lower)) best = lower;
      else failedAt = lower;
    }
    for (let i = 0; i < (cfg.bisect ?? 2) && failedAt !== null && best > 0 && inBudget(); i++) {
      const mid = Math.round((best + failedAt) / 2);
      if (mid <= best || mid >= failedAt) break;
      if (await step(mid)) best = mid;
      else failedAt = mid;
    }
    return {
      setup: group.setup,
      max_rate: best,
      first_failed_rate: failedAt,
      hit_max_rate: failedAt === null && best >= cfg.max_rate,
      steps,
    };
  } finally {
    closeAll(group.sockets);
  }
}

// --- joins -----------------------------------------------------------------------------

function once(socket, event, timeoutMs) {
  return new Promise((resolve) => {
    const t0 = now();
    const timer = setTimeout(() => {
      socket.off(event, handler);
      resolve(null);
    }, timeoutMs);
    function handler(payload) {
      clearTimeout(timer);
      resolve({ payload, ms: now() - t0 });
    }
    socket.once(event, handler);
  });
}

async function scenarioJoin() {
  const results = [];
  let tokenIndex = 0;
  for (const target of cfg.targets) {
    const join = [];
    const ack = [];
    const errors = {};
    let historyLength = null;
    let hasMore = null;
    const start = mark();
    for (let i = 0; i < cfg.joins; i++) {
      const token = cfg.tokens[tokenIndex++ % cfg.tokens.length];
      const { socket, error } = await connectOne(token);
      if (!socket) {
        countInto(errors, `connect: ${error}`);
        continue;
      }
      const timeoutMs = cfg.ack_timeout_ms ?? 10000;
      const rejoin = target.expect_history ? once(socket, "rejoin_room", timeoutMs) : null;
      const acked = await emitAck(socket, "joined_room", { room: target.room }, timeoutMs);
      const history = rejoin ? await rejoin : null;
      const failure = ackError(acked);
      if (failure) countInto(errors, failure);
      else if (target.expect_history && !history) countInto(errors, "no rejoin_room");
      else {
        ack.push(acked.ms);
        join.push(history ? history.ms : acked.ms);
        if (history) {
          historyLength = history.payload?.messages?.length ?? null;
          hasMore = history.payload?.has_more ?? null;
        }
      }
      close(socket);
    }
    results.push({
      room: target.room,
      history: target.history,
      measured: target.expect_history ? "rejoin_room" : "ack",
      joins: cfg.joins,
      join_ms: quantiles(join),
      ack_ms: quantiles(ack),
      rejoin_messages: historyLength,
      rejoin_has_more: hasMore,
      errors,
      ...window(start),
    });
    log(`join ${target.room}: p50=${results.at(-1).join_ms.p50} ms`);
  }
  return { targets: results };
}

async function scenarioConnectJoin() {
  const tokens = cfg.tokens.slice(0, cfg.connections);
  const errors = {};
  let ok = 0;
  let next = 0;
  const sockets = [];
  const start = mark();
  async function worker() {
    while (next < tokens.length) {
      const i = next++;
      const { socket, error } = await connectOne(tokens[i]);
      if (!socket) {
        countInto(errors, `connect: ${error}`);
        continue;
      }
      sockets.push(socket);
      const room = cfg.rooms[i % cfg.rooms.length];
      const rejoin = cfg.expect_history ? once(socket, "rejoin_room", 10000) : null;
      const failure = ackError(await emitAck(socket, "joined_room", { room }));
      if (rejoin) await rejoin;
      if (failure) countInto(errors, failure);
      else ok += 1;
    }
  }
  try {
    await Promise.all(Array.from({ length: cfg.concurrency ?? 10 }, worker));
    const measured = window(start);
    return {
      connections: tokens.length,
      connected_and_joined: ok,
      errors,
      server_cpu_ms_per_connect_join: round((1000 * measured.server_cpu_s) / Math.max(1, ok), 2),
      ...measured,
    };
  } finally {
    closeAll(sockets);
  }
}

// --- idle connections ------------------------------------------------------------------

async function scenarioIdle() {
  await sleep(500);
  const rssBefore = serverRssKiB();
  const fdsBefore = serverFds();
  const start = mark();
  const connected = await connectMany(cfg.tokens, {
    concurrency: cfg.connect_concurrency ?? 100,
    maxConsecutiveFailures: cfg.max_consecutive_failures ?? 300,
  });
  const connectWindow = window(start);
  log(`idle: ${connected.ok} connected, ${connected.failed} failed; holding ${cfg.hold_s} s`);
  await sleep((cfg.hold_s ?? 3) * 1000);
  const stillConnected = connected.sockets.filter((s) => s?.connected).length;
  const rssAfter = serverRssKiB();
  const fdsHeld = serverFds();
  closeAll(connected.sockets);
  const held = stillConnected;
  return {
    target: cfg.tokens.length,
    connected: connected.ok,
    failed: connected.failed,
    not_tried: connected.not_tried,
    stopped_early: connected.stopped_early,
    connect_errors: connected.errors,
    held_after_hold: held,
    hold_s: cfg.hold_s ?? 3,
    server_fds_before: fdsBefore,
    server_fds_held: fdsHeld,
    rss_before_kib: rssBefore,
    rss_after_kib: rssAfter,
    kib_per_connection: held > 0 ? round((rssAfter - rssBefore) / held, 1) : null,
    server_cpu_ms_per_connect: round((1000 * connectWindow.server_cpu_s) / Math.max(1, connected.ok), 2),
    connect_window: connectWindow,
  };
}

// --- closed-loop ingest ----------------------------------------------------------------

async function scenarioIngest() {
  const tokens = cfg.tokens.slice(0, cfg.clients);
  const connected = await connectMany(tokens, { concurrency: cfg.connect_concurrency ?? 50 });
  const roomOf = (i) => `${cfg.room_prefix}${i}`;
  const joined = await joinAll(connected.sockets, roomOf);
  const acks = [];
  const errors = {};
  let ok = 0;
  let failed = 0;
  let running = true;
  const counted = { from: 0, to: 0 };
  const prefix = `${runTag}.ingest.`;
  async function loop(socket, i) {
    let n = 0;
    while (running) {
      const clientId = `${prefix}${i}.${n++}`;
      const result = await emitAck(socket, "send_message", {
        room: roomOf(i),
        message: `ingest ${clientId}`,
        client_id: clientId,
      });
      const t = now();
      if (t < counted.from || t > counted.to) continue;
      const error = ackError(result);
      if (error) {
        failed += 1;
        countInto(errors, error);
      } else {
        ok += 1;
        acks.push(result.ms);
      }
    }
  }
  try {
    const t0 = now();
    counted.from = t0 + (cfg.warmup_s ?? 1) * 1000;
    counted.to = counted.from + cfg.duration_s * 1000;
    const loops = connected.sockets.map((s, i) => (s ? loop(s, i) : null)).filter(Boolean);
    await sleep(counted.from - now());
    const start = mark();
    await sleep(counted.to - now());
    const measured = window(start);
    running = false;
    await Promise.all(loops);
    return {
      clients: tokens.length,
      connected: connected.ok,
      joined: joined.ok,
      acks_ok: ok,
      acks_failed: failed,
      ack_errors: errors,
      messages_per_s: round(ok / cfg.duration_s, 1),
      ack_ms: quantiles(acks),
      server_cpu_ms_per_message: round((1000 * measured.server_cpu_s) / Math.max(1, ok), 2),
      ...measured,
    };
  } finally {
    closeAll(connected.sockets);
  }
}

// --- main ------------------------------------------------------------------------------

// --- abuse: another client's round trip while one misbehaves ------------------------------

function bigFrame(bytes) {
  // One masked text frame of `bytes` payload bytes, as a client sends it.
  const header = Buffer.alloc(14);
  header[0] = 0x81;
  header[1] = 0x80 | 127;
  header.writeBigUInt64BE(BigInt(bytes), 2);
  randomBytes(4).copy(header, 10);
  return Buffer.concat([header, Buffer.alloc(bytes, 0x41)]);
}

function sendBigFrame(frame) {
  // An unauthenticated WebSocket to the Engine.IO endpoint, then the frame.
  return new Promise((resolve) => {
    const { hostname, port } = new globalThis.URL(URL);
    const sock = net.connect(Number(port), hostname);
    let answered = false;
    const done = (outcome) => {
      sock.destroy();
      resolve(outcome);
    };
    sock.setTimeout(5000, () => done("timeout"));
    sock.on("error", () => done(answered ? "closed" : "error"));
    sock.on("close", () => done(answered ? "closed" : "refused"));
    sock.on("connect", () => {
      const key = randomBytes(16).toString("base64");
      sock.write(
        `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
          "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    sock.once("data", () => {
      answered = true;
      sock.write(frame);
    });
  });
}

function startAttack(kind, flooderToken) {
  const counts = {};
  let running = true;
  const loops = [];
  const every = (ms, fn) =>
    loops.push(
      (async () => {
        while (running) {
          const started = now();
          fn();
          await sleep(Math.max(0, ms - (now() - started)));
        }
      })(),
    );
  if (kind === "register") {
    let n = 0;
    every(1000 / cfg.registrations_per_s, () => {
      const username = `abuse${process.pid}x${n++}`;
      fetch(`${URL}/api/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username, password: "correct horse battery" }),
      }).then(
        (r) => countInto(counts, String(r.status)),
        () => countInto(counts, "error"),
      );
    });
  } else if (kind === "bigframes") {
    const frame = bigFrame(cfg.frame_bytes);
    every(1000 / cfg.frames_per_s, () => {
      sendBigFrame(frame).then((outcome) => countInto(counts, outcome));
    });
  } else if (kind === "rooms") {
    // A user of many rooms asks for their list as fast as the acks come, from several
    // sockets and over HTTP: the per-user room-list limit and the read budget refuse most.
    for (let i = 0; i < cfg.list_sockets; i++) {
      loops.push(
        (async () => {
          const { socket } = await connectOne(cfg.rooms_token);
          if (!socket) return countInto(counts, "connect failed");
          while (running) {
            const result = await emitAck(socket, "watch_rooms", {});
            countInto(counts, `watch ${ackError(result) ?? "ok"}`);
            if (ackError(result) === "rate_limited") await sleep(5);
          }
          close(socket);
        })(),
      );
    }
    for (let i = 0; i < cfg.list_http_loops; i++) {
      loops.push(
        (async () => {
          while (running) {
            try {
              const r = await fetch(`${URL}/api/rooms`, {
                headers: { authorization: `Bearer ${cfg.rooms_token}` },
              });
              await r.arrayBuffer();
              countInto(counts, `GET ${r.status}`);
              if (r.status === 429) await sleep(5);
            } catch {
              countInto(counts, "GET error");
            }
          }
        })(),
      );
    }
  } else if (kind === "history") {
    // Sockets looping load_history of the longest messages: the read budget (bytes)
    // refuses them once each has pulled its burst.
    for (const token of cfg.history_tokens) {
      loops.push(
        (async () => {
          const { socket } = await connectOne(token);
          if (!socket) return countInto(counts, "connect failed");
          while (running) {
            const result = await emitAck(socket, "load_history", { room: cfg.history_room, limit: 100 });
            countInto(counts, ackError(result) ?? "ok");
            if (ackError(result) === "rate_limited") await sleep(5);
          }
          close(socket);
        })(),
      );
    }
  } else if (kind === "typing") {
    const flooder = new Worker(new globalThis.URL(import.meta.url), {
      workerData: { ...cfg, scenario: "flood", token: flooderToken, quiet: true },
    });
    const finished = new Promise((resolve, reject) => {
      flooder.once("message", resolve);
      flooder.once("error", reject);
    });
    loops.push(
      (async () => {
        while (running) await sleep(50);
        flooder.postMessage("stop");
        Object.assign(counts, await finished);
      })(),
    );
  }
  return async () => {
    running = false;
    await Promise.all(loops);
    await sleep(300);
    return counts;
  };
}

async function probe(socket, seconds) {
  const rtts = [];
  const errors = {};
  const until = now() + seconds * 1000;
  let i = 0;
  while (now() < until) {
    const started = now();
    const result = await emitAck(socket, "send_message", {
      room: cfg.room,
      message: `probe ${i}`,
      client_id: `probe-${process.pid}-${i++}`,
    });
    const failure = ackError(result);
    if (failure) countInto(errors, failure);
    else rtts.push(result.ms);
    await sleep(Math.max(0, 1000 / cfg.probe_rate - (now() - started)));
  }
  return { rtts, errors };
}

async function scenarioAbuse() {
  const [victimToken, flooderToken] = cfg.tokens;
  const { socket: victim } = await connectOne(victimToken);
  await emitAck(victim, "joined_room", { room: cfg.room });
  const phases = [];
  for (const kind of cfg.phases) {
    const stop = startAttack(kind, flooderToken);
    await sleep(["rooms", "history"].includes(kind) ? 1000 : (cfg.settle_ms ?? 300));
    const start = mark();
    const { rtts, errors } = await probe(victim, cfg.phase_s);
    const attack = await stop();
    phases.push({ phase: kind, ack_ms: quantiles(rtts), errors, attack, ...window(start) });
    log(`abuse ${kind}: ack p50=${phases.at(-1).ack_ms.p50} p99=${phases.at(-1).ack_ms.p99}`);
  }
  close(victim);
  return { phases };
}

// In a worker thread: one user floods typing_status into cfg.room at cfg.flood_rate
// events/s (50 every 10 ms by default: ten times what the server reads from one
// connection; as fast as Node can go, the flood's own buffering and garbage collection
// took the CPU this 2-core machine's server needs, which is not what a remote attacker
// does to it), until the parent says stop; answers {sent}.
async function scenarioFlood() {
  const { socket } = await connectOne(cfg.token);
  await emitAck(socket, "joined_room", { room: cfg.room });
  let running = true;
  parentPort.once("message", () => {
    running = false;
  });
  let sent = 0;
  const started = now();
  const rate = cfg.flood_rate ?? 5000;
  while (running) {
    const due = Math.floor(((now() - started) / 1000) * rate);
    for (; sent < due; sent++) socket.emit("typing_status", { room: cfg.room, typing: true });
    await sleep(10);
  }
  close(socket);
  return { sent };
}

const scenarios = {
  fanout: scenarioFanout,
  findmax: scenarioFindmax,
  join: scenarioJoin,
  connect_join: scenarioConnectJoin,
  idle: scenarioIdle,
  ingest: scenarioIngest,
  abuse: scenarioAbuse,
};

async function main() {
  if (!isMainThread) {
    parentPort.postMessage(await scenarioFlood());
    parentPort.close();
    return;
  }
  const run = scenarios[cfg.scenario];
  if (!run) throw new Error(`unknown scenario ${cfg.scenario}`);
  const started = mark();
  const result = await run();
  result.scenario = cfg.scenario;
  result.loadgen_total = window(started);
  result.unexpected_disconnects = unexpectedDisconnects;
  result.disconnect_reasons = disconnectReasons;
  result.stray_deliveries = strayDeliveries;
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(
  () => isMainThread && setTimeout(() => process.exit(0), 200),
  (err) => {
    if (!isMainThread) throw err; // the parent's "error" event
    console.error(err?.stack ?? err);
    process.stdout.write(`${JSON.stringify({ scenario: cfg.scenario, error: String(err) })}\n`);
    setTimeout(() => process.exit(1), 200);
  },
);
