// Checks of rendered Kubernetes objects beyond their schemas: the references between objects
// resolve, probes, resources and grace periods are what jq needs, and jq's configuration keys
// and variables exist.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { validateSchema } from "./schema.mjs";
import { flattenConfig } from "./jqconfig.mjs";

const NAMESPACED_EXEMPT = new Set(["Namespace", "ClusterSecretStore"]);

function labelsMatch(selector, labels) {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels?.[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = labels && Object.hasOwn(labels, e.key);
    const val = labels?.[e.key];
    if (e.operator === "In" && !(has && e.values.includes(val))) return false;
    if (e.operator === "NotIn" && has && e.values.includes(val)) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

function workloads(objects) {
  return objects
    .filter((o) => ["Deployment", "StatefulSet", "Job"].includes(o.kind))
    .map((o) => ({ obj: o, pod: o.spec.template }));
}

function containerPorts(pod) {
  return (pod.spec.containers ?? []).flatMap((c) => c.ports ?? []);
}

function preStopSeconds(c) {
  const cmd = (c.lifecycle?.preStop?.exec?.command ?? []).join(" ");
  const m = cmd.match(/\b(?:sleep|timeout)\s+(\d+)/);
  return m ? Number(m[1]) : 0;
}

export async function checkObjects(objects, ctx) {
  const errors = [];
  const err = (o, msg) => errors.push(`${o.kind}/${o.metadata?.name}: ${msg}`);
  const byKind = (kind) => objects.filter((o) => o.kind === kind);
  const find = (kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);

  for (const o of objects) {
    for (const e of await validateSchema(o)) err(o, `schema: ${e}`);
    if (ctx.namespace && !NAMESPACED_EXEMPT.has(o.kind) && o.metadata.namespace !== ctx.namespace) {
      err(o, `namespace is ${o.metadata.namespace}, not ${ctx.namespace}`);
    }
  }
  if (ctx.namespace && !objects.some((o) => o.kind === "Namespace" && o.metadata.name === ctx.namespace)) {
    errors.push(`no Namespace object named ${ctx.namespace}`);
  }

  // jq's configuration file in the ConfigMap.
  const cm = find("ConfigMap", "jq-config");
  let cfg = {};
  if (!cm) errors.push("ConfigMap/jq-config is missing");
  else {
    try {
      cfg = YAML.parse(cm.data["config.yaml"]) ?? {};
    } catch (e) {
      err(cm, `config.yaml does not parse: ${e.message}`);
    }
    for (const [k] of flattenConfig(cfg)) {
      if (!ctx.configKeys.has(k)) err(cm, `config.yaml: "${k}" is not a jq configuration key (src/core/config.cpp)`);
    }
  }
  const cfgValue = (key, dflt) => key.split(".").reduce((o, p) => (o ? o[p] : undefined), cfg) ?? dflt;

  // Secrets a pod can use: Secrets and the targets of ExternalSecrets.
  const secretNames = new Set(byKind("Secret").map((s) => s.metadata.name));
  for (const es of byKind("ExternalSecret")) secretNames.add(es.spec?.target?.name ?? es.metadata.name);
  for (const cert of byKind("Certificate")) secretNames.add(cert.spec?.secretName);  // cert-manager writes it
  const checkEnvName = (o, name) => {
    if (name.startsWith("JQ_") && !ctx.knownEnv.has(name)) {
      err(o, `variable ${name} is not one jq reads (JQ_ + a key of src/core/config.cpp)`);
    }
  };

  for (const { obj, pod } of workloads(objects)) {
    const spec = pod.spec;
    if (obj.kind !== "Job" && !labelsMatch(obj.spec.selector, pod.metadata?.labels)) {
      err(obj, "selector does not match the pod template's labels");
    }
    if (spec.serviceAccountName && !find("ServiceAccount", spec.serviceAccountName)) {
      err(obj, `service account ${spec.serviceAccountName} is not defined`);
    }
    if (spec.securityContext?.runAsNonRoot !== true) err(obj, "pods must set securityContext.runAsNonRoot");
    for (const v of spec.volumes ?? []) {
      if (v.configMap && !find("ConfigMap", v.configMap.name)) err(obj, `volume ${v.name}: no ConfigMap ${v.configMap.name}`);
      if (v.secret && !secretNames.has(v.secret.secretName)) err(obj, `volume ${v.name}: no Secret ${v.secret.secretName}`);
    }
    for (const c of spec.containers) {
      const ports = new Set((c.ports ?? []).map((p) => p.name));
      for (const r of ["requests", "limits"]) {
        for (const res of ["cpu", "memory"]) {
          if (!c.resources?.[r]?.[res]) err(obj, `container ${c.name} has no resources.${r}.${res}`);
        }
      }
      for (const ef of c.envFrom ?? []) {
        if (ef.secretRef && !secretNames.has(ef.secretRef.name)) err(obj, `envFrom: no Secret ${ef.secretRef.name}`);
        if (ef.configMapRef && !find("ConfigMap", ef.configMapRef.name)) err(obj, `envFrom: no ConfigMap ${ef.configMapRef.name}`);
      }
      for (const e of c.env ?? []) checkEnvName(obj, e.name);
      for (const vm of c.volumeMounts ?? []) {
        const claims = (obj.spec.volumeClaimTemplates ?? []).map((t) => t.metadata.name);
        if (!(spec.volumes ?? []).some((v) => v.name === vm.name) && !claims.includes(vm.name)) {
          err(obj, `volumeMount ${vm.name} has no volume`);
        }
      }
      if (c.securityContext?.allowPrivilegeEscalation !== false) err(obj, `container ${c.name}: allowPrivilegeEscalation must be false`);
      // jq's own programs: probes on jq's endpoints, a drain, a grace above jq's.
      if (obj.kind === "Job" || pod.metadata?.labels?.["app.kubernetes.io/part-of"] !== "jq") continue;
      const probes = { readinessProbe: "/readyz", livenessProbe: "/healthz" };
      for (const [probe, want] of Object.entries(probes)) {
        const p = c[probe]?.httpGet;
        if (!p) err(obj, `container ${c.name} has no ${probe} (httpGet ${want})`);
        else {
          if (p.path !== want) err(obj, `${probe} path is ${p.path}, jq serves ${want}`);
          if (typeof p.port === "string" && !ports.has(p.port)) err(obj, `${probe} port ${p.port} is not a container port`);
        }
      }
      const grace = spec.terminationGracePeriodSeconds ?? 30;
      const role = pod.metadata?.labels?.["app.kubernetes.io/name"];
      // The server's preStop pause lets the Service drop it before SIGTERM; a worker needs
      // none (SIGTERM stops its intake), and a preStop jq-ctl would need an admin key.
      if (role === "jq-server" && !c.lifecycle?.preStop) err(obj, `container ${c.name} has no preStop pause`);
      const need = role === "jq-worker"
        ? cfgValue("worker.shutdown_grace_seconds", 60) + preStopSeconds(c)
        : role === "jq-server" ? cfgValue("server.shutdown_grace_seconds", 30) + preStopSeconds(c) : 0;
      if (need && grace <= need) {
        err(obj, `terminationGracePeriodSeconds ${grace} must exceed the shutdown grace plus preStop (${need} s)`);
      }
    }
  }

  for (const svc of byKind("Service")) {
    const targets = workloads(objects).filter((w) => w.obj.kind !== "Job" && svc.spec.selector &&
      labelsMatch({ matchLabels: svc.spec.selector }, w.pod.metadata?.labels));
    if (targets.length === 0) {
      err(svc, "selector matches no pod template");
      continue;
    }
    for (const p of svc.spec.ports ?? []) {
      if (typeof p.targetPort === "string" && !targets.some((t) => containerPorts(t.pod).some((cp) => cp.name === p.targetPort))) {
        err(svc, `targetPort ${p.targetPort} is not a port of the selected pods`);
      }
    }
  }

  const scaled = new Map();
  for (const hpa of byKind("HorizontalPodAutoscaler")) {
    const t = hpa.spec.scaleTargetRef;
    const d = find(t.kind, t.name);
    if (!d) err(hpa, `scaleTargetRef ${t.kind}/${t.name} does not exist`);
    else scaled.set(t.name, hpa.spec.minReplicas ?? 1);
    if (hpa.spec.minReplicas > hpa.spec.maxReplicas) err(hpa, "minReplicas > maxReplicas");
  }
  for (const so of byKind("ScaledObject")) {
    const t = so.spec.scaleTargetRef;
    if (!find(t.kind ?? "Deployment", t.name)) err(so, `scaleTargetRef ${t.name} does not exist`);
    else scaled.set(t.name, so.spec.minReplicaCount ?? 0);
    if ((so.spec.minReplicaCount ?? 0) > (so.spec.maxReplicaCount ?? 100)) err(so, "minReplicaCount > maxReplicaCount");
    for (const tr of so.spec.triggers) {
      if (tr.type !== "prometheus") continue;
      const q = tr.metadata?.query ?? "";
      for (const m of q.matchAll(/\b(jq_[a-z_]+)\b/g)) {
        if (!ctx.metricNames.has(m[1])) err(so, `query uses ${m[1]}, which jq does not export`);
      }
      if (!q.includes("jq_job_queue_depth")) err(so, "the prometheus trigger must scale on jq_job_queue_depth");
      if (ctx.namespace && !q.includes(`namespace="${ctx.namespace}"`)) {
        err(so, `query must select namespace="${ctx.namespace}" (another environment's queues would scale these workers)`);
      }
      if (!/^\d+(\.\d+)?$/.test(tr.metadata?.threshold ?? "")) err(so, "threshold must be a number in a string");
      if (!/^https?:\/\//.test(tr.metadata?.serverAddress ?? "")) err(so, "serverAddress must be an http(s) URL");
    }
  }
  for (const d of byKind("Deployment")) {
    if (scaled.has(d.metadata.name) && d.spec.replicas !== undefined) {
      err(d, "sets spec.replicas although an autoscaler owns it (every apply would reset the scale)");
    }
  }

  for (const pdb of byKind("PodDisruptionBudget")) {
    const w = workloads(objects).find((x) => x.obj.kind !== "Job" && labelsMatch(pdb.spec.selector, x.pod.metadata?.labels));
    if (!w) {
      err(pdb, "selector matches no pod template");
      continue;
    }
    const min = scaled.get(w.obj.metadata.name) ?? w.obj.spec.replicas ?? 1;
    if (Number.isInteger(pdb.spec.minAvailable) && pdb.spec.minAvailable >= min) {
      err(pdb, `minAvailable ${pdb.spec.minAvailable} >= the ${min} replicas ${w.obj.metadata.name} may scale down to: node drains would block`);
    }
  }

  for (const np of byKind("NetworkPolicy")) {
    const selected = workloads(objects).filter((w) => labelsMatch(np.spec.podSelector, w.pod.metadata?.labels));
    if (selected.length === 0) err(np, "podSelector matches no pod template");
    for (const rule of np.spec.ingress ?? []) {
      for (const p of rule.ports ?? []) {
        if (typeof p.port === "string" && !selected.every((w) => containerPorts(w.pod).some((cp) => cp.name === p.port))) {
          err(np, `ingress port ${p.port} is not a named port of every selected pod`);
        }
      }
      for (const f of rule.from ?? []) {
        if (f.podSelector && !f.namespaceSelector && !workloads(objects).some((w) => labelsMatch(f.podSelector, w.pod.metadata?.labels))) {
          err(np, "an ingress podSelector matches no pod template of this namespace");
        }
      }
    }
  }

  for (const sm of byKind("ServiceMonitor")) {
    const svcs = byKind("Service").filter((s) => labelsMatch(sm.spec.selector, s.metadata.labels));
    if (svcs.length === 0) err(sm, "selector matches no Service");
    for (const ep of sm.spec.endpoints ?? []) {
      if (!svcs.every((s) => s.spec.ports.some((p) => p.name === ep.port))) err(sm, `endpoint port ${ep.port} is not a port of the selected Services`);
    }
    for (const s of svcs) {
      if (!["jq-server", "jq-worker"].includes(s.metadata.name)) err(sm, `Service ${s.metadata.name}: the job label alerts.yml expects is jq-server or jq-worker`);
    }
  }

  for (const pr of byKind("PrometheusRule")) {
    if (JSON.stringify(pr.spec) !== JSON.stringify({ groups: ctx.alertGroups })) {
      err(pr, "spec.groups differ from prometheus/alerts.yml: run node tools/deploy-check/check.mjs --write-prometheusrule");
    }
  }

  for (const tgb of byKind("TargetGroupBinding")) {
    const ref = tgb.spec.serviceRef ?? {};
    const svc = find("Service", ref.name);
    if (!svc) err(tgb, `serviceRef ${ref.name} is not a Service`);
    else if (!svc.spec.ports.some((p) => p.port === ref.port || p.name === ref.port)) err(tgb, `Service ${ref.name} has no port ${ref.port}`);
  }

  for (const es of byKind("ExternalSecret")) {
    const ref = es.spec.secretStoreRef;
    if (!find(ref.kind ?? "SecretStore", ref.name)) err(es, `secretStoreRef ${ref.kind}/${ref.name} is not defined`);
    for (const d of es.spec.data ?? []) checkEnvName(es, d.secretKey);
    for (const k of Object.keys(es.spec.target?.template?.data ?? {})) checkEnvName(es, k);
  }
  for (const store of byKind("SecretStore")) {
    const sa = store.spec.provider?.aws?.auth?.jwt?.serviceAccountRef?.name;
    if (sa && !find("ServiceAccount", sa)) err(store, `service account ${sa} is not defined`);
  }
  for (const s of byKind("Secret")) {
    for (const k of Object.keys({ ...(s.stringData ?? {}), ...(s.data ?? {}) })) checkEnvName(s, k);
  }
  return errors;
}

export function metricNames(root) {
  const names = new Set();
  const dir = path.join(root, "src");
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(cpp|h)$/.test(e.name)) {
        for (const m of fs.readFileSync(p, "utf8").matchAll(/"(jq_[a-z_]+)"/g)) names.add(m[1]);
      }
    }
  };
  walk(dir);
  return names;
}
