// Writes what smoke.sh runs, taken from the rendered job-queue-dev overlay, so that the smoke
// test runs the very configuration and commands the pods run:
//   node tools/deploy-check/extract.mjs OUT_DIR
// OUT_DIR/config.yaml            the ConfigMap's config.yaml
// OUT_DIR/{server,migrate}.args  the containers' arguments, one per line (ENTRYPOINT jq-server)
// OUT_DIR/worker.sh              the worker container's command and arguments, as a script
//                                ($(VAR) references expanded from the environment, as the
//                                kubelet does)
// OUT_DIR/secret.env             the dev Secret's variables (KEY=VALUE lines)
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { render } from "./lib/kustomize.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const out = process.argv[2];
if (!out) throw new Error("usage: extract.mjs OUT_DIR");
const objects = render(path.join(root, "k8s/overlays/job-queue-dev"));
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
const secret = get("Secret", "jq-secrets").stringData;
fs.writeFileSync(path.join(out, "secret.env"), Object.entries(secret).map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
