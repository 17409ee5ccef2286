// Writes what smoke.sh runs, taken from a rendered overlay (job-queue-dev unless named), so
// that the smoke test runs the very configuration and commands the pods run:
//   node tools/deploy-check/extract.mjs OUT_DIR [OVERLAY]
// OUT_DIR/config.yaml            the ConfigMap's config.yaml
// OUT_DIR/{server,migrate}.args  the containers' arguments, one per line (ENTRYPOINT jq-server)
// OUT_DIR/worker.sh              the worker container's command and arguments, as a script
//                                ($(VAR) references expanded from the environment, as the
//                                kubelet does)
// OUT_DIR/secret.env             the dev Secret's variables (KEY=VALUE lines)
// OUT_DIR/{server,worker}.env    the containers' env entries with a literal value
// OUT_DIR/{server,worker}.mounts their Secret volumes: MOUNT_PATH SECRET_NAME lines
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { render } from "./lib/kustomize.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const out = process.argv[2];
if (!out) throw new Error("usage: extract.mjs OUT_DIR");
const objects = render(path.join(root, "k8s/overlays", process.argv[3] ?? "job-queue-dev"));
const get = (kind, name) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not rendered`);
  return o;
};
const container = (o) => o.spec.template.spec.containers[0];
const shellQuote = (a) => `'${a.replace(/'/g, `'\\''`)}'`;
// An argument with $(VAR) in it: double-quoted, with ${VAR} for each (VAR is a plain name).
const kubeletArg = (a) =>
  /\$\([A-Za-z_][A-Za-z0-9_]*\)/.test(a) && !/["\\`$]/.test(a.replace(/\$\([A-Za-z_][A-Za-z0-9_]*\)/g, ""))
    ? `"${a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, "${$1}")}"`
    : shellQuote(a);
const shellJoin = (argv) => argv.map(kubeletArg).join(" ");

fs.writeFileSync(path.join(out, "config.yaml"), get("ConfigMap", "jq-config").data["config.yaml"]);
fs.writeFileSync(path.join(out, "server.args"), container(get("Deployment", "jq-server")).args.join("\n") + "\n");
fs.writeFileSync(path.join(out, "migrate.args"), container(get("Job", "jq-migrate")).args.join("\n") + "\n");
const worker = container(get("Deployment", "jq-worker"));
fs.writeFileSync(path.join(out, "worker.sh"), `exec ${shellJoin([...(worker.command ?? ["jq-worker"]), ...(worker.args ?? [])])}\n`);
for (const [name, o] of [["server", get("Deployment", "jq-server")], ["worker", get("Deployment", "jq-worker")]]) {
  const c = container(o);
  const literal = (c.env ?? []).filter((e) => e.value !== undefined);
  fs.writeFileSync(path.join(out, `${name}.env`), literal.map((e) => `${e.name}=${e.value}\n`).join(""));
  const secrets = new Map((o.spec.template.spec.volumes ?? []).filter((v) => v.secret).map((v) => [v.name, v.secret.secretName]));
  const mounts = (c.volumeMounts ?? []).filter((m) => secrets.has(m.name));
  fs.writeFileSync(path.join(out, `${name}.mounts`), mounts.map((m) => `${m.mountPath} ${secrets.get(m.name)}\n`).join(""));
}
const secret = get("Secret", "jq-secrets").stringData;
fs.writeFileSync(path.join(out, "secret.env"), Object.entries(secret).map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
