// Tests of tools/deploy-check itself: the renderer follows kustomize's semantics for the
// fields it supports and refuses the others, and each checker reports what it exists to find.
//   node --test tools/deploy-check/test/
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { render, strategicMerge } from "../lib/kustomize.mjs";
import { validateSchema } from "../lib/schema.mjs";
import { checkObjects } from "../lib/k8s.mjs";
import { checkTerraform } from "../lib/terraform.mjs";

function tmpdir(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deploy-check-test-"));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  selector:
    matchLabels: {app: a}
  template:
    metadata:
      labels: {app: a}
    spec:
      containers:
        - name: main
          image: app
          resources: {limits: {cpu: "1"}}
        - name: side
          image: side:1
`;

test("strategic merge: containers merge by name, null deletes, custom resources' lists are replaced", () => {
  const base = { spec: { a: 1, b: 2, containers: [{ name: "x", image: "i", env: [{ name: "A", value: "1" }] }] } };
  const merged = strategicMerge(base, { spec: { b: null, containers: [{ name: "x", env: [{ name: "B", value: "2" }] }] } });
  assert.deepEqual(merged, { spec: { a: 1, containers: [{ name: "x", image: "i", env: [{ name: "A", value: "1" }, { name: "B", value: "2" }] }] } });
  const crd = strategicMerge({ triggers: [{ name: "t", type: "x", m: 1 }] }, { triggers: [{ name: "t", type: "y" }] }, false);
  assert.deepEqual(crd, { triggers: [{ name: "t", type: "y" }] });
});

test("render: namespace, images, labels and a targeted patch", () => {
  const dir = tmpdir({
    "base/kustomization.yaml": "resources: [deploy.yaml]\nimages:\n  - {name: app, newName: reg/app, newTag: '1'}\nkind: Kustomization\n",
    "base/deploy.yaml": deployment,
    "ov/kustomization.yaml": "kind: Kustomization\nnamespace: ns\nresources: [../base]\nlabels:\n  - pairs: {env: dev}\nimages:\n  - {name: reg/app, newTag: '2'}\npatches:\n  - path: p.yaml\n    target: {kind: Deployment, name: app}\n",
    "ov/p.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n  template:\n    spec:\n      containers:\n        - name: main\n          resources: {limits: {memory: 1Gi}}\n",
  });
  const [d] = render(path.join(dir, "ov"));
  assert.equal(d.metadata.namespace, "ns");
  assert.equal(d.metadata.labels.env, "dev");
  assert.equal(d.spec.selector.matchLabels.env, undefined, "labels must not reach selectors");
  const [main, side] = d.spec.template.spec.containers;
  assert.equal(main.image, "reg/app:2");
  assert.deepEqual(main.resources.limits, { cpu: "1", memory: "1Gi" });
  assert.equal(side.image, "side:1");
});

test("render: a component adds resources and patches before the kustomization's own; volumeMounts merge by mountPath", () => {
  const dir = tmpdir({
    "base/kustomization.yaml": "kind: Kustomization\nresources: [deploy.yaml]\n",
    "base/deploy.yaml": deployment.replace("          image: app\n", "          image: app\n          volumeMounts: [{name: c, mountPath: /etc/c}]\n"),
    "comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [cm.yaml]\npatches:\n  - path: p.yaml\n    target: {kind: Deployment, name: app}\n",
    "comp/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n",
    "comp/p.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n  template:\n    spec:\n      containers:\n        - name: main\n          env: [{name: FROM, value: component}]\n          volumeMounts: [{name: t, mountPath: /etc/t}]\n",
    "ov/kustomization.yaml": "kind: Kustomization\nnamespace: ns\nresources: [../base]\ncomponents: [../comp]\npatches:\n  - path: p.yaml\n    target: {kind: Deployment, name: app}\n",
    "ov/p.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n  template:\n    spec:\n      containers:\n        - name: main\n          env: [{name: FROM, value: overlay}]\n",
  });
  const objects = render(path.join(dir, "ov"));
  const cm = objects.find((o) => o.kind === "ConfigMap");
  assert.equal(cm.metadata.namespace, "ns");
  const main = objects.find((o) => o.kind === "Deployment").spec.template.spec.containers[0];
  assert.deepEqual(main.env, [{ name: "FROM", value: "overlay" }], "the overlay's patch comes after the component's");
  assert.deepEqual(main.volumeMounts.map((m) => m.mountPath), ["/etc/c", "/etc/t"]);
  const bad = tmpdir({
    "kustomization.yaml": "kind: Kustomization\ncomponents: [c]\n",
    "c/kustomization.yaml": "kind: Kustomization\n",
  });
  assert.throws(() => render(bad), /kind must be Component/);
});

test("render refuses what it does not implement, patches that match nothing, and duplicates", () => {
  const unsupported = tmpdir({ "kustomization.yaml": "kind: Kustomization\ncommonLabels: {a: b}\nresources: []\n" });
  assert.throws(() => render(unsupported), /field "commonLabels" is not supported/);
  const nomatch = tmpdir({
    "kustomization.yaml": "kind: Kustomization\nresources: [d.yaml]\npatches:\n  - path: p.yaml\n    target: {kind: Deployment, name: other}\n",
    "d.yaml": deployment,
    "p.yaml": "kind: Deployment\nmetadata: {name: other}\n",
  });
  assert.throws(() => render(nomatch), /matches no object/);
  const dup = tmpdir({ "kustomization.yaml": "kind: Kustomization\nresources: [d.yaml, e.yaml]\n", "d.yaml": deployment, "e.yaml": deployment });
  assert.throws(() => render(dup), /defined twice/);
});

test("schema: a valid object passes; a wrong type and an unknown field are reported", async () => {
  const ok = { apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { ports: [{ port: 80 }] } };
  assert.deepEqual(await validateSchema(ok), []);
  const bad = { apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { ports: [{ port: "http", portt: 1 }] } };
  const errors = await validateSchema(bad);
  assert.ok(errors.some((e) => /port must be integer/.test(e)), errors.join("\n"));
  assert.ok(errors.some((e) => /unknown field "spec.ports\[0\].portt"/.test(e)), errors.join("\n"));
  assert.match((await validateSchema({ apiVersion: "x.io/v1", kind: "Thing", metadata: { name: "t" } }))[0], /no schema/);
});

test("references: a Service selecting no pod and an HPA without a target are reported", async () => {
  const objects = [
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "jq-config" }, data: { "config.yaml": "log:\n  level: info\n" } },
    { apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { selector: { app: "none" }, ports: [{ port: 1 }] } },
    { apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "h" },
      spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "gone" }, minReplicas: 1, maxReplicas: 2 } },
  ];
  const ctx = { configKeys: new Set(["log.level"]), knownEnv: new Set(), metricNames: new Set(), alertGroups: [] };
  const errors = await checkObjects(objects, ctx);
  assert.ok(errors.some((e) => /Service\/s: selector matches no pod template/.test(e)), errors.join("\n"));
  assert.ok(errors.some((e) => /scaleTargetRef Deployment\/gone does not exist/.test(e)), errors.join("\n"));
});

test("terraform: unused and undeclared variables, unresolved references, missing resources", async () => {
  const dir = tmpdir({
    "main.tf": `variable "used" {
  description = "d"
  type        = string
}
variable "unused" {
  description = "d"
  type        = string
}
resource "aws_vpc" "main" {
  cidr_block = var.used
  tags       = { Name = var.missing }
}
output "id" {
  description = "d"
  value       = aws_subnet.private.id
}
`,
  });
  const errors = await checkTerraform(dir);
  const has = (re) => assert.ok(errors.some((e) => re.test(e)), `${re}\n${errors.join("\n")}`);
  has(/variable unused .* never used/);
  has(/var\.missing is used but not declared/);
  has(/aws_subnet\.private is referenced but not declared/);
  has(/no aws_db_instance/);
});
