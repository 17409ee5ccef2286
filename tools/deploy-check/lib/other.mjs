// Checks of the systemd units, docker-compose.yml's jq variables and docs/deploy.md.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";

function parseUnit(text) {
  const sections = {};
  let cur = null;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const s = line.match(/^\[(.+)\]$/);
    if (s) {
      cur = sections[s[1]] ??= {};
      continue;
    }
    const kv = line.match(/^([A-Za-z]+)=(.*)$/);
    if (!kv || !cur) throw new Error(`not a unit file line: ${line}`);
    (cur[kv[1]] ??= []).push(kv[2]);
  }
  return sections;
}

const HARDENING = {
  NoNewPrivileges: "yes", ProtectSystem: "strict", ProtectHome: "yes", PrivateTmp: "yes",
  PrivateDevices: "yes", ProtectKernelTunables: "yes", ProtectKernelModules: "yes",
  ProtectControlGroups: "yes", RestrictSUIDSGID: "yes", LockPersonality: "yes",
};

export function checkSystemd(dir, knownEnv) {
  const errors = [];
  for (const name of ["jq-server.service", "jq-worker.service"]) {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) {
      errors.push(`${name} is missing`);
      continue;
    }
    const u = parseUnit(fs.readFileSync(file, "utf8"));
    const svc = u.Service ?? {};
    const one = (k) => svc[k]?.at(-1);
    if (!u.Unit || !u.Install) errors.push(`${name}: needs [Unit] and [Install]`);
    if (!one("ExecStart")?.includes(name.replace(".service", ""))) errors.push(`${name}: ExecStart must run ${name.replace(".service", "")}`);
    if (!one("User") && one("DynamicUser") !== "yes") errors.push(`${name}: set User= or DynamicUser=yes`);
    if (!["on-failure", "always"].includes(one("Restart"))) errors.push(`${name}: Restart= must be on-failure or always`);
    for (const [k, v] of Object.entries(HARDENING)) {
      if (one(k) !== v) errors.push(`${name}: ${k}=${v} is required (is ${one(k) ?? "unset"})`);
    }
    const stop = Number((one("TimeoutStopSec") ?? "").replace(/s$/, ""));
    const grace = name === "jq-worker.service" ? 60 : 30;
    if (!(stop > grace)) errors.push(`${name}: TimeoutStopSec must exceed the ${grace} s shutdown grace`);
    for (const e of svc.Environment ?? []) {
      for (const m of e.matchAll(/(?:^|\s|")(JQ_[A-Z0-9_]+)=/g)) {
        if (!knownEnv.has(m[1])) errors.push(`${name}: ${m[1]} is not a variable jq reads`);
      }
    }
  }
  const envFile = path.join(dir, "jq.env.example");
  if (fs.existsSync(envFile)) {
    for (const line of fs.readFileSync(envFile, "utf8").split("\n")) {
      const m = line.match(/^#?\s*(JQ_[A-Z0-9_]+)=/);
      if (m && !knownEnv.has(m[1]) && !line.startsWith("#")) errors.push(`jq.env.example: ${m[1]} is not a variable jq reads`);
    }
  } else {
    errors.push("jq.env.example is missing");
  }
  return errors;
}

export function checkCompose(file, knownEnv) {
  const errors = [];
  const doc = YAML.parse(fs.readFileSync(file, "utf8"), { merge: true, maxAliasCount: -1 });
  const services = doc.services ?? {};
  const want = ["postgres", "redis", "kafka", "jq-server-1", "jq-server-2", "jq-worker-1", "jq-worker-2", "prometheus", "grafana"];
  for (const s of want) if (!services[s]) errors.push(`service ${s} is missing`);
  for (const [name, svc] of Object.entries(services)) {
    const env = svc.environment ?? {};
    for (const k of Array.isArray(env) ? env.map((e) => e.split("=")[0]) : Object.keys(env)) {
      if (k.startsWith("JQ_") && !knownEnv.has(k)) errors.push(`${name}: ${k} is not a variable jq reads`);
    }
    if (name.startsWith("jq-") && !svc.healthcheck) errors.push(`${name}: no healthcheck`);
    for (const [dep, cond] of Object.entries(svc.depends_on ?? {})) {
      if (name.startsWith("jq-") && cond.condition !== "service_healthy") errors.push(`${name}: must wait for ${dep} to be healthy`);
    }
  }
  for (const v of ["pgdata", "kafkadata"]) if (!(doc.volumes && v in doc.volumes)) errors.push(`volume ${v} is missing`);
  return errors;
}

// docs/deploy.md has a runbook entry (a heading naming the alert) for every alert rule.
export function checkDocs(repo, alertGroups) {
  const file = path.join(repo, "docs/deploy.md");
  if (!fs.existsSync(file)) return ["docs/deploy.md is missing"];
  const text = fs.readFileSync(file, "utf8");
  const headings = new Set([...text.matchAll(/^#{2,4} +`?([A-Za-z]+)`?\s*$/gm)].map((m) => m[1]));
  const errors = [];
  for (const g of alertGroups) {
    for (const r of g.rules) {
      if (r.alert && !headings.has(r.alert)) errors.push(`no runbook heading for alert ${r.alert}`);
    }
  }
  for (const section of ["Docker Compose", "Kubernetes", "AWS", "Upgrade", "Rollback", "Backup and restore", "Capacity", "What was not run here"]) {
    if (!new RegExp(`^#+ .*${section}`, "m").test(text)) errors.push(`no section "${section}"`);
  }
  return errors;
}

// docker/Dockerfile: the stages and targets exist, every COPY source is in the build context
// (present and not excluded by .dockerignore), the images run as a non-root user with a
// HEALTHCHECK on /healthz, and the runtime stage installs docker/runtime-packages.txt.
export function checkDockerfile(repo) {
  const errors = [];
  const text = fs.readFileSync(path.join(repo, "docker/Dockerfile"), "utf8").replace(/\\\n/g, " ");
  const ignore = fs.readFileSync(path.join(repo, ".dockerignore"), "utf8").split("\n")
    .map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const stages = {};
  let cur = null;
  for (const line of text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))) {
    const [instr, ...rest] = line.split(/\s+/);
    const args = rest.join(" ");
    if (/^FROM$/i.test(instr)) {
      const m = args.match(/\bAS\s+(\S+)/i);
      cur = stages[m ? m[1] : `stage${Object.keys(stages).length}`] = { from: args.split(/\s+/)[0], lines: [] };
      continue;
    }
    if (!cur) continue;
    cur.lines.push([instr.toUpperCase(), args]);
  }
  for (const s of ["build", "runtime", "jq-server", "jq-worker"]) if (!stages[s]) errors.push(`no stage ${s}`);
  if (errors.length) return errors;

  for (const [name, st] of Object.entries(stages)) {
    for (const [instr, args] of st.lines) {
      if (instr !== "COPY" || /--from=/.test(args)) continue;
      const parts = args.split(/\s+/).filter((p) => !p.startsWith("--"));
      for (const src of parts.slice(0, -1)) {
        if (src === ".") continue;
        if (!fs.existsSync(path.join(repo, src))) errors.push(`stage ${name}: COPY ${src}: no such file`);
        if (ignore.some((p) => src === p || src.startsWith(`${p}/`))) errors.push(`stage ${name}: COPY ${src} is excluded by .dockerignore`);
      }
    }
  }
  // Outside FROM, a stage sees only the ARGs and ENVs it declares (a global ARG is empty there).
  for (const [name, st] of Object.entries(stages)) {
    const declared = new Set();
    for (const [instr, args] of st.lines) {
      if (instr === "ARG" || instr === "ENV") for (const m of args.matchAll(/(?:^|\s)([A-Za-z_]\w*)(?==|\s|$)/g)) declared.add(m[1]);
      if (!["LABEL", "COPY", "WORKDIR", "USER", "EXPOSE", "ENV"].includes(instr)) continue;
      for (const m of args.matchAll(/\$\{?([A-Za-z_]\w*)/g)) {
        if (!declared.has(m[1])) errors.push(`stage ${name}: ${instr} uses \${${m[1]}}, not declared in this stage (ARG ${m[1]})`);
      }
    }
  }
  const runs = (st) => st.lines.filter(([i]) => i === "RUN").map(([, a]) => a).join("\n");
  if (!runs(stages.build).includes("install-deps.sh --build-only")) errors.push("the build stage must install with scripts/install-deps.sh --build-only");
  if (!runs(stages.runtime).includes("runtime-packages.txt")) errors.push("the runtime stage must install docker/runtime-packages.txt");
  for (const [target, port] of [["jq-server", "9090"], ["jq-worker", "9091"]]) {
    const st = stages[target];
    const get = (i) => st.lines.filter(([x]) => x === i).map(([, a]) => a);
    if (st.from !== "runtime") errors.push(`${target} must be built FROM runtime`);
    const user = get("USER").at(-1);
    if (!user || /^(0|root)(:|$)/.test(user)) errors.push(`${target}: must end with a non-root USER`);
    const hc = get("HEALTHCHECK").at(-1) ?? "";
    if (!hc.includes("/healthz") || !hc.includes(port)) errors.push(`${target}: HEALTHCHECK must GET /healthz on ${port}`);
    if (!get("EXPOSE").join(" ").includes(port)) errors.push(`${target}: EXPOSE ${port}`);
    if (!get("ENTRYPOINT").join(" ").includes(`"${target}"`)) errors.push(`${target}: ENTRYPOINT must run ${target}`);
    if (!get("COPY").some((a) => a.includes(`/out/${target}`))) errors.push(`${target}: does not copy its binary`);
    if (!get("LABEL").join(" ").includes("org.opencontainers.image.title")) errors.push(`${target}: no org.opencontainers.image.title label`);
  }
  return errors;
}
