// Offline checks of jq's deployment files, run by `make test-deploy`:
//   node tools/deploy-check/check.mjs            k8s/ (every overlay), terraform/, packaging/,
//                                                docker/Dockerfile, docker-compose.yml's jq
//                                                variables, docs/deploy.md
//   node tools/deploy-check/check.mjs --write-prometheusrule
//                                                regenerate k8s/base/prometheusrule.yaml from
//                                                prometheus/alerts.yml
// Prints one line per check and every problem; exits 1 when there is any.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { render, readYamlDocs } from "./lib/kustomize.mjs";
import { checkObjects, metricNames } from "./lib/k8s.mjs";
import { loadConfigKeys, knownEnv } from "./lib/jqconfig.mjs";
import { checkTerraform } from "./lib/terraform.mjs";
import { checkSystemd, checkCompose, checkDocs, checkDockerfile } from "./lib/other.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const rootArg = process.argv.find((a) => a.startsWith("--root="));
const repo = rootArg ? path.resolve(rootArg.slice(7)) : root;

const OVERLAYS = ["job-queue-dev", "job-queue-dev-tls", "job-queue-staging", "job-queue-prod"];

function prometheusRuleYaml() {
  const alerts = YAML.parse(fs.readFileSync(path.join(repo, "prometheus/alerts.yml"), "utf8"));
  const rule = {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: {
      name: "jq",
      labels: { "app.kubernetes.io/part-of": "jq", release: "prometheus" },
    },
    spec: { groups: alerts.groups },
  };
  return "# Generated from prometheus/alerts.yml by\n" +
    "#   node tools/deploy-check/check.mjs --write-prometheusrule\n" +
    "# Do not edit: make test-deploy fails when this differs from alerts.yml.\n" +
    YAML.stringify(rule, { lineWidth: 100, minContentWidth: 40 });
}

if (process.argv.includes("--write-prometheusrule")) {
  fs.writeFileSync(path.join(repo, "k8s/base/prometheusrule.yaml"), prometheusRuleYaml());
  console.log("wrote k8s/base/prometheusrule.yaml");
  process.exit(0);
}

let failures = 0;
function report(name, errors) {
  if (errors.length === 0) {
    console.log(`ok:   ${name}`);
    return;
  }
  failures += errors.length;
  for (const e of errors) console.log(`FAIL: ${name}: ${e}`);
}

async function guarded(name, fn) {
  try {
    report(name, await fn());
  } catch (e) {
    report(name, [e.message]);
  }
}

const configKeys = loadConfigKeys(repo);
const env = knownEnv(configKeys);
const alertGroups = YAML.parse(fs.readFileSync(path.join(repo, "prometheus/alerts.yml"), "utf8")).groups;
const ctxBase = { configKeys, knownEnv: env, metricNames: metricNames(repo), alertGroups };

const counts = {};
for (const overlay of OVERLAYS) {
  await guarded(`k8s/overlays/${overlay}`, async () => {
    const objects = render(path.join(repo, "k8s/overlays", overlay));
    counts[overlay] = objects.length;
    // An overlay's namespace is its name, unless its kustomization names another (job-queue-dev-tls
    // is job-queue-dev with TLS, in the same namespace).
    const [kdoc] = readYamlDocs(path.join(repo, "k8s/overlays", overlay, "kustomization.yaml"));
    const errors = await checkObjects(objects, { ...ctxBase, namespace: kdoc.namespace ?? overlay });
    const kinds = new Set(objects.map((o) => o.kind));
    for (const k of ["Namespace", "Deployment", "Service", "HorizontalPodAutoscaler", "ScaledObject",
      "PodDisruptionBudget", "ConfigMap", "NetworkPolicy", "ServiceMonitor", "PrometheusRule", "Job"]) {
      if (!kinds.has(k)) errors.push(`no ${k} rendered`);
    }
    if (!kinds.has("Secret") && !kinds.has("ExternalSecret")) errors.push("no Secret or ExternalSecret rendered");
    return errors;
  });
}
console.log(`      rendered objects: ${OVERLAYS.map((o) => `${o} ${counts[o] ?? "?"}`).join(", ")}`);

await guarded("k8s/base/prometheusrule.yaml is generated from prometheus/alerts.yml", () => {
  const want = prometheusRuleYaml();
  const have = fs.readFileSync(path.join(repo, "k8s/base/prometheusrule.yaml"), "utf8");
  return have === want ? [] : ["out of date: run node tools/deploy-check/check.mjs --write-prometheusrule"];
});

// Every YAML file under k8s/ belongs to a kustomization (no manifest silently left out).
await guarded("every file under k8s/ is rendered by a kustomization", () => {
  const listed = new Set();
  const walk = (dir) => {
    const k = path.join(dir, "kustomization.yaml");
    if (!fs.existsSync(k)) return;
    listed.add(k);
    const [doc] = readYamlDocs(k);
    for (const r of doc.resources ?? []) {
      const p = path.join(dir, r);
      if (fs.statSync(p).isDirectory()) walk(p);
      else listed.add(p);
    }
    for (const p of doc.patches ?? []) if (p.path) listed.add(path.join(dir, p.path));
    for (const c of doc.components ?? []) walk(path.join(dir, c));
  };
  for (const o of OVERLAYS) walk(path.join(repo, "k8s/overlays", o));
  const errors = [];
  const all = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? all(path.join(dir, e.name)) : [path.join(dir, e.name)]);
  for (const f of all(path.join(repo, "k8s"))) {
    if (/\.ya?ml$/.test(f) && !listed.has(f)) errors.push(`${path.relative(repo, f)} is in no overlay`);
  }
  return errors;
});

await guarded("terraform/", () => checkTerraform(path.join(repo, "terraform"), { knownEnv: env }));
await guarded("packaging/systemd/", () => checkSystemd(path.join(repo, "packaging/systemd"), env));
await guarded("docker-compose.yml jq variables", () => checkCompose(path.join(repo, "docker-compose.yml"), env));
await guarded("docker/Dockerfile", () => checkDockerfile(repo));
await guarded("docs/deploy.md", () => checkDocs(repo, alertGroups));

if (failures > 0) {
  console.log(`deploy-check: ${failures} problem(s)`);
  process.exit(1);
}
console.log("deploy-check: all checks passed");
