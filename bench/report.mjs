// Regenerates docs/performance.md and its charts (docs/img/*.png) from one results file.
//   node bench/report.mjs bench/results/latest.json [--docs DIR] [--no-charts]
// The hand-written block between <!-- notes:start --> and <!-- notes:end --> in the existing
// docs/performance.md is kept. Charts are drawn by gnuplot (pngcairo) from data files that this
// script writes to a temporary directory.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const resultsFile = argv.find(a => !a.startsWith("--")) || path.join(root, "bench/results/latest.json");
const docsDir = argv.includes("--docs") ? path.resolve(argv[argv.indexOf("--docs") + 1]) : path.join(root, "docs");
const charts = !argv.includes("--no-charts");
const res = JSON.parse(fs.readFileSync(resultsFile, "utf8"));
const runs = res.runs || [];
const quick = res.profile !== "full";

// ------------------------------------------------------------------ helpers
const ok = id => runs.find(r => r.id === id && r.status === "ok" && r.result);
const anyRun = id => runs.find(r => r.id === id);
const r = id => ok(id)?.result;
const fmtInt = x => (x == null || !Number.isFinite(+x) ? "—" : Math.round(+x).toLocaleString("en-US"));
const fmtMs = x => {
  if (x == null || !Number.isFinite(+x)) return "—";
  const v = +x;
  return (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) + " ms";
};
const fmtRatio = x => (x == null || !Number.isFinite(x) ? "—" : `${x >= 10 ? x.toFixed(0) : x.toFixed(2)}×`);
const jps = id => r(id)?.jobs_per_second;
// ", 115 errors (INTERNAL 115)" when a jq run counted failed calls.
const errs = id => {
  const x = r(id);
  if (!x?.errors) return "";
  const by = Object.entries(x.errors_by_code || {}).map(([k, v]) => `${k} ${v}`).join(", ");
  return `, **${fmtInt(x.errors)} errors**${by ? ` (${by})` : ""}`;
};
const pct = (o, q) => o?.[q] ?? o?.[q.toUpperCase()];
const yes = c => (c == null ? "n/a" : c ? "yes" : "**no**");
const all = xs => (xs.some(x => x == null) ? null : xs.every(Boolean));
const peer = id => ok(id)?.result;
const maxOf = xs => { const v = xs.filter(x => x != null && Number.isFinite(x)); return v.length ? Math.max(...v) : null; };
const div = (a, b) => (a != null && b ? a / b : null);
const esc = s => String(s ?? "").replace(/\|/g, "\\|");

const graphileIds = ["graphile_lq500", "graphile_default"];
const gInsert = maxOf(graphileIds.map(id => peer(id)?.insert_jobs_per_s));
const gWorkLq = peer("graphile_lq500")?.work_jobs_per_s;
const gWorkDef = peer("graphile_default")?.work_jobs_per_s;
const gWork = maxOf([gWorkLq, gWorkDef]);
const bInsert = peer("bullmq_c100")?.insert_jobs_per_s;
const bWork = peer("bullmq_c100")?.work_jobs_per_s;

const threadsPeak = id => ok(id)?.server?.threads_peak ?? r(id)?.server_threads;
const rssPeak = id => ok(id)?.server?.rss_peak_mb ?? r(id)?.server_rss_mb;
// Claim statements' p95 from the server's jq_db_query_duration_seconds histogram.
function claimP95(id) {
  const q = ok(id)?.server_metrics?.jq_db_query_duration_seconds || {};
  const claims = Object.entries(q).filter(([k]) => /claim/i.test(k));
  if (!claims.length) return null;
  return { p95: Math.max(...claims.map(([, v]) => v.p95_ms)), names: claims.map(([k]) => k) };
}
// A flag's value as given on the recorded command line, else from jq-bench's config object.
const flag = (id, name) => {
  const mm = (anyRun(id)?.command || "").match(new RegExp(`--${name}[ =](\\S+)`));
  return mm ? Number(mm[1]) : null;
};
const cfg = (id, k) => flag(id, k.replace(/_/g, "-")) ?? r(id)?.config?.[k] ?? r(id)?.[k];
const prefill = cfg("e2e_deep", "prefill_pending");
const manyWorkers = cfg("e2e_many_workers", "workers") ?? (quick ? 200 : 1000);

// ------------------------------------------------------------------ the comparison table
const rows = [];
{
  const x = r("submit_c200"); const p99 = pct(x?.latency_ms, "p99");
  rows.push(["SubmitJob throughput, 200 in flight",
    x ? `${fmtInt(x.jobs_per_second)} /s, p50 ${fmtMs(pct(x.latency_ms, "p50"))}, p99 ${fmtMs(p99)}${errs("submit_c200")}` : "—",
    "—", "—", "—", "≥ 20,000 /s, p99 < 20 ms",
    yes(x ? all([x.jobs_per_second >= 20000, p99 == null ? null : p99 < 20]) : null)]);
}
{
  const x = r("submit_c8");
  rows.push(["SubmitJob throughput, 8 in flight",
    x ? `${fmtInt(x.jobs_per_second)} /s, p50 ${fmtMs(pct(x.latency_ms, "p50"))}, p99 ${fmtMs(pct(x.latency_ms, "p99"))}${errs("submit_c8")}` : "—",
    "—", "—", "—", "—", "—"]);
}
{
  const j = jps("batch");
  rows.push(["batch submit (jq SubmitJobs ×1,000; graphile-worker addJobs ×10,000; BullMQ addBulk ×1,000)",
    j != null ? `${fmtInt(j)} jobs/s${errs("batch")}` : "—", gInsert != null ? `${fmtInt(gInsert)} jobs/s` : "—",
    bInsert != null ? `${fmtInt(bInsert)} jobs/s` : "—",
    `${fmtRatio(div(j, gInsert))} graphile-worker, ${fmtRatio(div(j, bInsert))} BullMQ`,
    "≥ 150,000 jobs/s, ≥ 3× graphile-worker addJobs",
    yes(j == null ? null : all([j >= 150000, gInsert == null ? null : j >= 3 * gInsert]))]);
}
{
  const j = jps("e2e_shallow");
  const fb = ok("e2e_shallow")?.fallback ? " (unary reports)" : "";
  rows.push(["end-to-end no-op jobs (jq 4 workers × 100 slots; graphile-worker concurrency 24; BullMQ concurrency 100)",
    j != null ? `${fmtInt(j)} jobs/s${fb}${errs("e2e_shallow")}` : "—",
    gWorkLq != null || gWorkDef != null
      ? `${fmtInt(gWorkLq)} jobs/s (localQueue 500); ${fmtInt(gWorkDef)} jobs/s (no localQueue)` : "—",
    bWork != null ? `${fmtInt(bWork)} jobs/s` : "—",
    `${fmtRatio(div(j, gWork))} graphile-worker (best), ${fmtRatio(div(j, bWork))} BullMQ`,
    "≥ 30,000 /s, ≥ 2× graphile-worker",
    yes(j == null ? null : all([j >= 30000, gWork == null ? null : j >= 2 * gWork]))]);
}
{
  const j = jps("subprocess");
  rows.push(["end-to-end `/bin/true` subprocess jobs (2 jq-workers × 16 slots)", j != null ? `${fmtInt(j)} jobs/s${errs("subprocess")}` : "—",
    "—", "—", "—", "≥ 2,500 /s", yes(j == null ? null : j >= 2500)]);
}
{
  const x = r("latency_half_load"); const s = x?.submit_to_start_ms;
  const p50 = pct(s, "p50"), p99 = pct(s, "p99");
  const rate = cfg("latency_half_load", "rate");
  rows.push([`submit-to-start latency at half load${rate ? ` (${fmtInt(rate)} jobs/s)` : ""}`,
    x ? `p50 ${fmtMs(p50)}, p99 ${fmtMs(p99)}${errs("latency_half_load")}` : "—", "—", "—", "—", "p50 < 3 ms, p99 < 20 ms",
    yes(x ? all([p50 == null ? null : p50 < 3, p99 == null ? null : p99 < 20]) : null)]);
}
{
  const j = jps("e2e_many_workers"), base = jps("e2e_shallow");
  const tm = threadsPeak("e2e_many_workers"), t4 = threadsPeak("e2e_shallow");
  const ratio = div(j, base);
  const threadsOk = tm != null && t4 != null ? tm <= 1.2 * t4 + 2 : null;
  rows.push([`${fmtInt(manyWorkers)} connected workers × 2 slots`,
    j != null ? `${fmtInt(j)} jobs/s = ${ratio != null ? (100 * ratio).toFixed(0) + "%" : "—"} of 4 workers; server threads ${tm ?? "—"} (4 workers: ${t4 ?? "—"}), RSS ${fmtInt(rssPeak("e2e_many_workers"))} MB${errs("e2e_many_workers")}` : "—",
    "—", "—", "—", "≥ 80% of the 4-worker rate; threads independent of workers (here: ≤ 1.2 × the 4-worker run's + 2)",
    yes(j == null ? null : all([ratio == null ? null : ratio >= 0.8, threadsOk]))]);
}
{
  const j = jps("e2e_deep"), base = jps("e2e_shallow");
  const ratio = div(j, base); const rss = rssPeak("e2e_deep"); const claim = claimP95("e2e_deep");
  rows.push([`${prefill ? fmtInt(prefill) : "1M"} pending in another queue (SPEC: 1M pending)`,
    j != null ? `${fmtInt(j)} jobs/s = ${ratio != null ? (100 * ratio).toFixed(0) + "%" : "—"} of shallow; claim transaction p95 ${claim ? "≈ " + fmtMs(claim.p95) : "not measured"}; server RSS peak ${fmtInt(rss)} MB${errs("e2e_deep")}` : "—",
    "—", "—", "—", "claim p95 < 5 ms; throughput within 20% of shallow; RSS < 200 MB",
    yes(j == null ? null : all([ratio == null ? null : ratio >= 0.8, rss == null ? null : rss < 200,
      claim ? claim.p95 < 5 : null]))]);
}

{
  const j = jps("e2e_history"), base = jps("e2e_shallow");
  const ratio = div(j, base); const rss = rssPeak("e2e_history"); const claim = claimP95("e2e_history");
  rows.push([`${r("e2e_history")?.title ?? "10M finished jobs in the table"} (SPEC: 10M rows)`,
    j != null ? `${fmtInt(j)} jobs/s = ${ratio != null ? (100 * ratio).toFixed(0) + "%" : "—"} of shallow; claim transaction p95 ${claim ? "≈ " + fmtMs(claim.p95) : "not measured"}; server RSS peak ${fmtInt(rss)} MB${errs("e2e_history")}` : "—",
    "—", "—", "—", "claim p95 < 5 ms; throughput within 20% of shallow; RSS < 200 MB",
    yes(j == null ? null : all([ratio == null ? null : ratio >= 0.8, rss == null ? null : rss < 200,
      claim ? claim.p95 < 5 : null]))]);
}
{
  const j = jps("e2e_tenant_limits"), base = jps("e2e_shallow");
  const ratio = div(j, base); const claim = claimP95("e2e_tenant_limits");
  rows.push(["per-tenant running limits enforced, never reached (4 workers × 100 slots)",
    j != null ? `${fmtInt(j)} jobs/s = ${ratio != null ? (100 * ratio).toFixed(0) + "%" : "—"} of shallow; claim transaction p95 ${claim ? "≈ " + fmtMs(claim.p95) : "not measured"}${errs("e2e_tenant_limits")}` : "—",
    "—", "—", "—", "throughput within 20% of shallow",
    yes(j == null ? null : ratio == null ? null : ratio >= 0.8)]);
}

// ------------------------------------------------------------------ charts
const img = path.join(docsDir, "img");
const chartNotes = [];
function gnuplot(script, dataDir) {
  fs.writeFileSync(path.join(dataDir, "plot.gp"), script);
  execFileSync("gnuplot", [path.join(dataDir, "plot.gp")], { cwd: dataDir, stdio: ["ignore", "inherit", "inherit"] });
}
const gpStr = s => `"${String(s).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
const HEAD = `set terminal pngcairo size 900,500 enhanced font "DejaVu Sans,10"
set border 3; set tics nomirror; set grid ytics lc rgb "#dddddd"
set key top right
`;
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
const drawn = {};
if (charts) {
  fs.mkdirSync(img, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "jq-report-"));
  try {
    // (a) throughput over time of the end-to-end runs.
    const series = runs.filter(x => x.system === "jq" && x.status === "ok" && x.timeline?.length &&
      /^(e2e|subprocess)/.test(x.result?.mode ?? x.id));
    if (series.length) {
      // Long runs: average consecutive samples so that no line has more than ~150 points.
      const longest = Math.max(...series.map(x => x.timeline.length));
      const bin = Math.max(1, Math.ceil(longest / 150));
      const step = series[0].timeline.length > 1 ? series[0].timeline[1][0] - series[0].timeline[0][0] : 0.5;
      const plots = series.map((x, i) => {
        const pts = [];
        for (let k = 0; k < x.timeline.length; k += bin) {
          const chunk = x.timeline.slice(k, k + bin);
          pts.push([chunk[chunk.length - 1][0], chunk.reduce((a, c) => a + c[1], 0) / chunk.length]);
        }
        fs.writeFileSync(path.join(tmp, `${x.id}.dat`), pts.map(([t, v]) => `${t} ${v}`).join("\n") + "\n");
        return `${gpStr(x.id + ".dat")} using 1:2 with lines lw 2 lc rgb "${COLORS[i % COLORS.length]}" title ${gpStr(x.title)}`;
      });
      gnuplot(HEAD + `set output ${gpStr(path.join(img, "e2e-throughput.png"))}
set title "jq end-to-end throughput over time (${quick ? "quick run" : "make bench"})"
set xlabel "seconds since start of the run${bin > 1 ? ` (mean of every ${+(bin * step).toFixed(1)} s)` : ""}"; set ylabel "jobs completed per second"
set key outside bottom center horizontal maxrows 2; set xrange [0:*]
set yrange [0:*]; set format y "%.0s%c"
plot ${plots.join(", \\\n     ")}
`, tmp);
      drawn.throughput = true;
    } else chartNotes.push("no e2e timeline in this run, so no throughput chart");

    // (b) latency percentiles.
    const lat = [];
    const addLat = (l1, l2, o) => { if (o && pct(o, "p50") != null) lat.push([l1, l2, pct(o, "p50"), pct(o, "p99") ?? pct(o, "p50")]); };
    addLat("SubmitJob", "200 in flight", r("submit_c200")?.latency_ms);
    addLat("SubmitJob", "8 in flight", r("submit_c8")?.latency_ms);
    addLat("batch call", "1,000 jobs, 4 in flight", r("batch")?.latency_ms);
    addLat("submit→start", "at half load", r("latency_half_load")?.submit_to_start_ms);
    addLat("submit→done", "at half load", r("latency_half_load")?.submit_to_done_ms);
    if (lat.length) {
      fs.writeFileSync(path.join(tmp, "latency.dat"), lat.map(([l1, l2, a, b]) => `${gpStr(l1)} ${gpStr(l2)} ${a} ${b}`).join("\n") + "\n");
      const lo = Math.max(0.01, Math.pow(10, Math.floor(Math.log10(Math.min(...lat.map(x => x[2]).filter(v => v > 0), 1)))));
      gnuplot(HEAD + `set output ${gpStr(path.join(img, "latency.png"))}
set title "jq latency percentiles (${quick ? "quick run" : "make bench"}); log scale"
set ylabel "milliseconds"; set logscale y; set yrange [${lo}:${Math.pow(10, Math.ceil(Math.log10(Math.max(20, ...lat.map(x => x[3])) * 2)))}]
set style data histogram; set style histogram clustered gap 1; set style fill solid 0.85 border -1
set boxwidth 0.9; set xtics scale 0 noenhanced; set bmargin 7
set xrange [-0.6:${lat.length - 0.4}]
fmt(v) = v >= 100 ? sprintf("%.0f", v) : v >= 10 ? sprintf("%.1f", v) : sprintf("%.2f", v)
set key outside bottom center horizontal
n = 2.0
plot "latency.dat" using 3:xtic(sprintf("%s\\n%s", strcol(1), strcol(2))) title "p50" lc rgb "${COLORS[0]}", \\
     "" using 4 title "p99" lc rgb "${COLORS[3]}", \\
     "" using ($0 - 0.5/(n+1)):3:(fmt($3)) with labels offset 0,0.7 notitle, \\
     "" using ($0 + 0.5/(n+1)):4:(fmt($4)) with labels offset 0,0.7 notitle, \\
     20 with lines dt 2 lw 1.5 lc rgb "${COLORS[3]}" title "SPEC p99 target 20 ms (submit, submit→start)", \\
     3 with lines dt 2 lw 1.5 lc rgb "${COLORS[0]}" title "SPEC p50 target 3 ms (submit→start)"
`, tmp);
      drawn.latency = true;
    } else chartNotes.push("no latency figures in this run, so no latency chart");

    // (c) jq beside the peers.
    const cols = [["jq", jps("batch"), jps("e2e_shallow")],
      ["graphile-worker (localQueue 500)", peer("graphile_lq500")?.insert_jobs_per_s, gWorkLq],
      ["graphile-worker (no localQueue)", peer("graphile_default")?.insert_jobs_per_s, gWorkDef],
      ["BullMQ", bInsert, bWork]].filter(c => c[1] != null || c[2] != null);
    if (cols.length > 1) {
      const n = cols.length;
      const line = (label, k) => `${gpStr(label)} ${cols.map(c => c[k] ?? 0).join(" ")}`;
      fs.writeFileSync(path.join(tmp, "peers.dat"), [line("insert (batch API)", 1), line("end-to-end no-op jobs", 2)].join("\n") + "\n");
      const bars = cols.map((c, i) => `"peers.dat" using ${i + 2}${i === 0 ? ":xtic(1)" : ""} title ${gpStr(c[0])} lc rgb "${COLORS[i]}"`);
      const labels = cols.map((c, i) => `"peers.dat" using ($0 + (${i} - (n-1)/2.0)/(n+1)):${i + 2}:(${"$"}${i + 2} >= 1000 ? sprintf("%.1fk", ${"$"}${i + 2}/1000.0) : sprintf("%d", ${"$"}${i + 2})) with labels offset 0,0.7 notitle`);
      gnuplot(HEAD + `set output ${gpStr(path.join(img, "peers.png"))}
set title "jq beside graphile-worker and BullMQ, same machine and run (${quick ? "quick run" : "make bench"})"
set ylabel "jobs per second"; set yrange [0:*]; set format y "%.0s%c"
set style data histogram; set style histogram clustered gap 1; set style fill solid 0.85 border -1
set boxwidth 0.9; set xtics scale 0; set key outside bottom center horizontal
set xrange [-0.55:1.55]
n = ${n}.0
plot ${[...bars, ...labels].join(", \\\n     ")}
`, tmp);
      drawn.peers = true;
    } else chartNotes.push("no peer figures in this run, so no peer chart");
    // A chart this results file cannot draw would show another run's figures: remove it.
    for (const [k, f] of [["throughput", "e2e-throughput.png"], ["latency", "latency.png"], ["peers", "peers.png"]]) {
      if (!drawn[k]) fs.rmSync(path.join(img, f), { force: true });
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ the document
const docFile = path.join(docsDir, "performance.md");
let notes = "_No profiling notes yet. Engineers: write findings here; `bench/report.mjs` keeps this block._";
if (fs.existsSync(docFile)) {
  const old = fs.readFileSync(docFile, "utf8");
  const m = old.match(/<!-- notes:start -->\n?([\s\S]*?)\n?<!-- notes:end -->/);
  if (m) notes = m[1].trim();
}

const m = res.machine || {};
const b = res.build || {};
const st = res.stack || {};
const rel = path.relative(root, path.resolve(resultsFile));
const srcName = rel.endsWith("latest.json") ? "bench/results/latest.json" : rel;
const L = [];
L.push("# Performance", "");
L.push(`<!-- Generated by bench/report.mjs from ${srcName}. Edit only the notes block; the rest is rewritten by every \`make bench\`. -->`, "");
L.push("Reproduce with **`make bench`** (the full scenarios, about 6–10 minutes on 2 cores) or **`make bench-quick`** " +
  "(the same scenarios with smaller sizes, under 5 minutes). Both start their own PostgreSQL, Redis and " +
  "jq-server on free loopback ports under `.jq/bench/`, stop them on exit, write " +
  "`bench/results/<UTC time>.json` and `bench/results/latest.json`, and regenerate this page and its charts " +
  "(`node bench/report.mjs bench/results/latest.json` redraws them from a results file alone).", "");
L.push("Absolute figures move with the machine and from run to run (the peers' too), so every comparison below " +
  "is between systems measured **in the same run on the same servers**; SPEC §14's ratios are what must hold.", "");
L.push(`**This page: ${quick ? "a quick run (`make bench-quick`): sizes are smaller than SPEC §14's (see the commands), so the targets are only indicative here" : "a full run (`make bench`)"}**, ` +
  `started ${res.started_at ?? "?"}, ${res.wall_seconds != null ? Math.round(res.wall_seconds / 60 * 10) / 10 + " minutes" : ""}, ` +
  `commit \`${(b.commit || "unknown").slice(0, 12)}\`${b.dirty ? " with uncommitted changes" : ""}, jq built ${b.build_type || "?"}.`, "");
const busyRuns = runs.filter(x => x.cpu_busy_before_pct >= 25);
if (busyRuns.length) {
  L.push(`**Caution:** ${busyRuns.length} of ${runs.length} runs started while other work kept the machine ` +
    `≥ 25% busy (${busyRuns.map(x => `\`${x.id}\` ${x.cpu_busy_before_pct}%`).join(", ")}); their figures are low. ` +
    "Run the benchmark on an otherwise idle machine.", "");
}
const failed = runs.filter(x => x.status !== "ok");
if (failed.length) {
  L.push(`**Failed runs:** ${failed.map(x => `\`${x.id}\``).join(", ")} (see “All runs”).`, "");
}

L.push("## Machine", "");
L.push("| | |", "|---|---|");
L.push(`| CPU | ${esc(m.cpu_model)}, ${m.nproc} cores (nproc) |`);
L.push(`| memory | ${m.ram_gib} GiB |`);
L.push(`| OS, kernel | ${esc(m.os)}, Linux ${esc(m.kernel)} |`);
L.push(`| PostgreSQL | ${esc(m.postgresql_version)} |`);
L.push(`| Redis | ${esc(m.redis_version)} |`);
L.push(`| Node.js (peers) | ${esc(m.node_version)}; ${Object.entries(st.peers || {}).map(([k, v]) => `${k} ${v}`).join(", ")} |`, "");

L.push("## Stack", "");
L.push("- **PostgreSQL** runs with the durability users get by default: **`fsync=on`, `synchronous_commit=on`, " +
  "`full_page_writes=on`**; every acknowledged job is on disk. Memory and WAL are sized as a user of a small " +
  "server would (`shared_buffers=256MB`, `max_connections=200`, `max_wal_size=4GB`, `checkpoint_timeout=15min`, " +
  "`wal_buffers=16MB`), and autovacuum visits every database every 5 s (`autovacuum_naptime=5s`; the default " +
  "of 1 min left a queue table unvacuumed for a whole run, see the notes). A `CHECKPOINT` and a `sync` run before every run. " +
  "The settings as the server reported them:", "");
L.push("  | setting | value |", "  |---|---|");
for (const [k, v] of Object.entries(st.postgresql_settings || {})) L.push(`  | \`${k}\` | ${esc(v)} |`);
L.push("");
L.push(`  Started as: \`${esc(st.postgresql_command)}\``, "");
L.push(`- **Redis** without persistence (\`${esc(st.redis_command)}\`), used by jq-server and by BullMQ.`);
L.push("- **jq-server**: one replica, the default configuration except addresses (" +
  "`JQ_DB_URL`, `JQ_REDIS_ADDR`, `JQ_SERVER_ADDR`, `JQ_METRICS_ADDR`). **Kafka is not started**: " +
  "`JQ_KAFKA_BROKERS` is empty, so the outbox relay is off (events are still written to the outbox table).");
L.push("- Every jq scenario gets a **new `jq` database, a flushed Redis and a newly started jq-server**, so runs do " +
  "not pollute each other. Peak server threads and RSS are sampled from `/proc` every 0.2 s; claim latency comes " +
  "from the server's `jq_db_query_duration_seconds` histogram (estimated within its buckets).");
L.push("- **Peers** run while jq-server is stopped: graphile-worker in its own database (`peers`) on the same " +
  "PostgreSQL (it creates its own schema, dropped first), BullMQ on the same Redis after `FLUSHALL`. " +
  "Their harnesses are `bench/peers/*.mjs`; versions are pinned in `bench/peers/package.json`.", "");

L.push("## Results against SPEC §14", "");
L.push("| figure | jq | graphile-worker | BullMQ | jq ÷ peer | target (SPEC §14) | met? |");
L.push("|---|---|---|---|---|---|---|");
for (const row of rows) L.push(`| ${row.map(esc).join(" | ")} |`);
L.push("");
if (quick) L.push("_Quick run: fewer jobs, shorter durations, a smaller backlog and fewer workers than SPEC §14 names; judge the targets on `make bench`._", "");

L.push("## Charts", "");
if (drawn.throughput) L.push("![jq end-to-end throughput over time](img/e2e-throughput.png)", "");
if (drawn.latency) L.push("![jq latency percentiles](img/latency.png)", "");
if (drawn.peers) L.push("![jq beside graphile-worker and BullMQ](img/peers.png)", "");
for (const n of chartNotes) L.push(`- ${n}`);
if (chartNotes.length) L.push("");

L.push("## Profiling notes", "");
L.push("<!-- notes:start -->", notes, "<!-- notes:end -->", "");

L.push("## All runs", "");
L.push("| run | system | jobs | seconds | jobs/s | errors | latency p50 / p99 | server threads (peak) | server RSS peak | note |");
L.push("|---|---|---|---|---|---|---|---|---|---|");
for (const x of runs) {
  const o = x.result || {};
  const lat = o.submit_to_start_ms ? `start ${fmtMs(pct(o.submit_to_start_ms, "p50"))} / ${fmtMs(pct(o.submit_to_start_ms, "p99"))}` :
    o.latency_ms ? `${fmtMs(pct(o.latency_ms, "p50"))} / ${fmtMs(pct(o.latency_ms, "p99"))}` : "—";
  const rate = o.jobs_per_second;
  const rateCell = o.mode === "latency" ? `offered ${fmtInt(o.rate ?? cfg(x.id, "rate"))}; ${fmtInt(rate)} over the whole run`
    : rate != null ? fmtInt(rate) : o.work_jobs_per_s != null
    ? `insert ${fmtInt(o.insert_jobs_per_s)}, work ${fmtInt(o.work_jobs_per_s)}` : "—";
  const errs = o.errors != null ? `${o.errors}${o.errors_by_code && Object.keys(o.errors_by_code).length
    ? " (" + Object.entries(o.errors_by_code).map(([k, v]) => `${k} ${v}`).join(", ") + ")" : ""}` : "—";
  const pgErr = x.postgres_errors ? "PostgreSQL " + Object.entries(x.postgres_errors).map(([k, v]) => `${v}× “${k}”`).join(", ") : "";
  const busy = x.cpu_busy_before_pct >= 25 ? `machine ${x.cpu_busy_before_pct}% busy with other work just before` : "";
  const noteCell = [x.status !== "ok" ? `**failed** (exit ${x.exit_code})` : "", x.fallback || "", pgErr, busy, x.note || ""].filter(Boolean).join("; ");
  L.push(`| \`${x.id}\` — ${esc(x.title)} | ${x.system} | ${fmtInt(o.jobs)} | ${o.seconds != null ? (+o.seconds).toFixed(1) : "—"} | ${rateCell} | ${esc(errs)} | ${lat} | ${threadsPeak(x.id) ?? "—"} | ${rssPeak(x.id) != null ? fmtInt(rssPeak(x.id)) + " MB" : "—"} | ${esc(noteCell)} |`);
}
L.push("");
for (const x of failed) {
  if (x.error_tail) L.push(`<details><summary>${x.id}: last lines of its output</summary>`, "", "```", x.error_tail, "```", "</details>", "");
}

L.push("## Commands as run", "");
L.push("`.jq/bench/bin/` holds copies of `build/jq-bench`, `build/jq-server` and `build/jq-worker` taken when the " +
  "benchmark started (a rebuild during the run cannot swap them). " +
  "Addresses are the free ports of that run; every jq run had a server of its own. " +
  "The peers' PostgreSQL URL points at the `peers` database, their Redis argument is the port.", "");
L.push("```sh");
for (const x of runs) L.push(`# ${x.id}: ${x.title}`, x.command || "(not run)");
L.push("```", "");

fs.mkdirSync(docsDir, { recursive: true });
fs.writeFileSync(docFile, L.join("\n"));
console.log(`report: ${path.relative(process.cwd(), docFile)}${Object.keys(drawn).length ? ", charts: " +
  Object.keys(drawn).map(k => ({ throughput: "e2e-throughput", latency: "latency", peers: "peers" })[k] + ".png").join(" ") : ""}`);
