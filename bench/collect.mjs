// Helper of bench/run.sh: turns the output of one benchmark run into a JSON record, reads
// values back, and assembles the results file. Node's standard library only.
//   node bench/collect.mjs record RUNS.jsonl key=value ...   append one run
//   node bench/collect.mjs get RUNS.jsonl ID dotted.path     print a value of a recorded run
//   node bench/collect.mjs has-code FILE CODE                 exit 0 if FILE mentions CODE
//   node bench/collect.mjs finish RUNS.jsonl OUT.json key=value ...
import fs from "node:fs";
import os from "node:os";

const [cmd, ...args] = process.argv.slice(2);

function kv(list) {
  const o = {};
  for (const a of list) {
    const i = a.indexOf("=");
    if (i > 0) o[a.slice(0, i)] = a.slice(i + 1);
  }
  return o;
}

function readText(file) {
  try { return fs.readFileSync(file, "utf8"); } catch { return ""; }
}

// The last line of FILE that is a JSON object (benchmarks may print progress before it).
export function lastJsonObject(text) {
  const lines = text.split("\n").map(l => l.trim()).filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i].startsWith("{")) continue;
    try { return JSON.parse(lines[i]); } catch { /* not JSON */ }
  }
  // A pretty-printed object spanning lines.
  const start = text.indexOf("{"), end = text.lastIndexOf("}");
  if (start >= 0 && end > start) {
    try { return JSON.parse(text.slice(start, end + 1)); } catch { /* not JSON */ }
  }
  return null;
}

function readTimeline(file) {
  const rows = [];
  for (const line of readText(file).split("\n")) {
    const [t, r] = line.split(",").map(Number);
    if (Number.isFinite(t) && Number.isFinite(r)) rows.push([t, r]);
  }
  return rows;
}

// Prometheus text format: histograms summarised per label set with estimated quantiles
// (linear interpolation inside the bucket, as PromQL's histogram_quantile does).
const HISTOGRAMS = {
  jq_db_query_duration_seconds: "query_name",
  jq_grpc_request_duration_seconds: "method",
  jq_submit_to_start_seconds: null,
  jq_scheduler_cycle_duration_seconds: null,
};

function parseLabels(s) {
  const o = {};
  for (const m of s.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) o[m[1]] = m[2];
  return o;
}

function quantile(buckets, count, q) {
  if (!count) return null;
  const rank = q * count;
  let prevLe = 0, prevCum = 0;
  for (const [le, cum] of buckets) {
    if (cum >= rank) {
      if (!Number.isFinite(le)) return prevLe;  // in the +Inf bucket: the highest finite bound
      const inBucket = cum - prevCum;
      return inBucket > 0 ? prevLe + (le - prevLe) * ((rank - prevCum) / inBucket) : le;
    }
    prevLe = le; prevCum = cum;
  }
  return prevLe;
}

export function summariseMetrics(text) {
  const acc = {};
  for (const line of text.split("\n")) {
    const m = line.match(/^(\w+?)_(bucket|sum|count)(?:\{(.*)\})?\s+(\S+)/);
    if (!m || !(m[1] in HISTOGRAMS)) continue;
    const [, name, part, labelText = "", value] = m;
    const labels = parseLabels(labelText);
    const key = HISTOGRAMS[name] ? labels[HISTOGRAMS[name]] ?? "" : "all";
    const h = ((acc[name] ??= {})[key] ??= { buckets: new Map(), sum: 0, count: 0 });
    const v = Number(value);
    if (part === "bucket") {
      const le = labels.le === "+Inf" ? Infinity : Number(labels.le);
      h.buckets.set(le, (h.buckets.get(le) ?? 0) + v);  // summed over other labels
    } else if (part === "sum") h.sum += v;
    else h.count += v;
  }
  const out = {};
  for (const [name, byKey] of Object.entries(acc)) {
    out[name] = {};
    for (const [key, h] of Object.entries(byKey)) {
      if (!h.count) continue;
      const b = [...h.buckets.entries()].sort((x, y) => x[0] - y[0]);
      const ms = x => (x == null ? null : Math.round(x * 1e6) / 1e3);
      out[name][key] = { count: h.count, mean_ms: ms(h.sum / h.count), p50_ms: ms(quantile(b, h.count, 0.5)),
        p95_ms: ms(quantile(b, h.count, 0.95)), p99_ms: ms(quantile(b, h.count, 0.99)) };
    }
  }
  return out;
}

function getPath(obj, path) {
  return path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

function readRuns(file) {
  return readText(file).split("\n").filter(Boolean).map(l => JSON.parse(l));
}

// Versions of the peer packages as installed in bench/peers/node_modules.
function peerVersions(dir) {
  const v = {};
  if (!dir) return v;
  for (const p of ["graphile-worker", "bullmq", "pg", "ioredis"]) {
    try { v[p] = JSON.parse(readText(`${dir}/node_modules/${p}/package.json`)).version; } catch { /* absent */ }
  }
  return v;
}

function num(x) {
  const n = Number(x);
  return x === undefined || x === "" || !Number.isFinite(n) ? null : n;
}

if (cmd === "record") {
  const [runsFile, ...rest] = args;
  const o = kv(rest);
  const stdout = readText(o.stdout);
  const result = lastJsonObject(stdout);
  const rec = {
    id: o.id, scenario: o.scenario || o.id, system: o.system || "jq", title: o.title || o.id,
    command: o.command, exit_code: num(o.exit_code),
    status: num(o.exit_code) === 0 && result ? "ok" : "failed",
    started_at: o.started_at, wall_seconds: num(o.wall_seconds),
  };
  if (o.fallback) rec.fallback = o.fallback;
  if (o.loadavg) rec.loadavg_before = o.loadavg.split(" ").map(Number);
  if (num(o.busy_before_pct) != null) rec.cpu_busy_before_pct = num(o.busy_before_pct);
  if (o.pg_errors) {
    // PostgreSQL ERROR lines while the run ran, counted by message (timestamps and pids cut).
    const byMsg = {};
    for (const line of readText(o.pg_errors).split("\n")) {
      const mm = line.match(/\] (ERROR|FATAL|PANIC):\s+(.*)$/);
      // graphile-worker probes for its migrations table before creating it: not a problem.
      if (!mm || /relation "graphile_worker\.migrations" does not exist/.test(mm[2])) continue;
      byMsg[`${mm[1]}: ${mm[2]}`] = (byMsg[`${mm[1]}: ${mm[2]}`] ?? 0) + 1;
    }
    if (Object.keys(byMsg).length) rec.postgres_errors = byMsg;
  }
  if (o.note) rec.note = o.note;
  if (o.config) rec.config = JSON.parse(o.config);
  rec.result = result;
  if (!result || rec.status !== "ok") {
    const err = readText(o.stderr).trim().split("\n").slice(-15).join("\n");
    rec.error_tail = (err || stdout.trim().split("\n").slice(-15).join("\n")).slice(-4000);
  }
  if (o.server_threads_peak || o.server_rss_peak_mb) {
    rec.server = { threads_peak: num(o.server_threads_peak), rss_peak_mb: num(o.server_rss_peak_mb),
      threads_end: num(o.server_threads_end), rss_end_mb: num(o.server_rss_end_mb) };
  }
  if (o.timeline) {
    const t = readTimeline(o.timeline);
    if (t.length) rec.timeline = t;
  }
  if (o.metrics) {
    const text = readText(o.metrics);
    if (text) rec.server_metrics = summariseMetrics(text);
  }
  fs.appendFileSync(runsFile, JSON.stringify(rec) + "\n");
  console.log(`${rec.id}: ${rec.status}` + (result && result.jobs_per_second != null
    ? `, ${Math.round(result.jobs_per_second)} jobs/s` : "") +
    (result && result.work_jobs_per_s != null
      ? `, insert ${result.insert_jobs_per_s} jobs/s, work ${result.work_jobs_per_s} jobs/s` : ""));
} else if (cmd === "get") {
  const [runsFile, id, path] = args;
  const run = readRuns(runsFile).filter(r => r.id === id && r.status === "ok").pop();
  const v = run ? getPath(run, path) : undefined;
  if (v !== undefined && v !== null) console.log(typeof v === "object" ? JSON.stringify(v) : String(v));
} else if (cmd === "has-code") {
  const [file, code] = args;
  process.exit(readText(file).includes(code) ? 0 : 1);
} else if (cmd === "finish") {
  const [runsFile, outFile, ...rest] = args;
  const o = kv(rest);
  const cpuinfo = readText("/proc/cpuinfo");
  const meminfo = readText("/proc/meminfo");
  const memKb = Number((meminfo.match(/^MemTotal:\s+(\d+)/m) || [])[1]);
  const pgSettings = {};
  for (const line of readText(o.pg_settings).split("\n")) {
    const [name, setting, unit] = line.split("|");
    if (name) pgSettings[name] = unit ? `${setting} (${unit})` : setting;
  }
  const runs = readRuns(runsFile);
  const doc = {
    schema: 1,
    profile: o.profile,
    started_at: o.started_at,
    finished_at: new Date().toISOString(),
    wall_seconds: num(o.wall_seconds),
    machine: {
      nproc: num(o.nproc) ?? os.cpus().length,
      cpu_model: ((cpuinfo.match(/^model name\s*:\s*(.*)$/m) || [])[1] || os.cpus()[0]?.model || "").trim(),
      ram_gib: Math.round((memKb / 1048576) * 10) / 10,
      kernel: os.release(),
      os: o.os_release || "",
      postgresql_version: o.pg_version || "",
      redis_version: o.redis_version || "",
      node_version: process.version,
    },
    build: { commit: o.commit || "", dirty: o.dirty === "1", build_type: o.build_type || "" },
    stack: {
      postgresql_settings: pgSettings,
      postgresql_command: o.pg_command || "",
      redis_command: o.redis_command || "",
      jq_server_env: o.server_env || "",
      kafka: "not started: jq-server runs with JQ_KAFKA_BROKERS empty (outbox relay off)",
      peers: peerVersions(o.peers_dir),
    },
    runs,
  };
  fs.writeFileSync(outFile, JSON.stringify(doc, null, 2) + "\n");
  const failed = runs.filter(r => r.status !== "ok").map(r => r.id);
  console.log(`results: ${outFile} (${runs.length} runs${failed.length ? `, failed: ${failed.join(" ")}` : ""})`);
} else {
  console.error("usage: collect.mjs record|get|has-code|finish ...");
  process.exit(2);
}
