// A kustomize-equivalent renderer for the subset of kustomize that k8s/ uses. Anything else
// in a kustomization.yaml is an error, so a file that this renderer accepts renders the same
// with `kubectl kustomize` (resources, components, namespace, labels, images, patches: the
// semantics below are kustomize's for these fields).
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";

const SUPPORTED = new Set(["apiVersion", "kind", "resources", "components", "namespace", "labels", "images", "patches"]);
// A Component (kind Component, kustomize.config.k8s.io/v1alpha1) adds resources and patches to
// the kustomization that lists it, after that one's resources and before its own patches.
const COMPONENT_SUPPORTED = new Set(["apiVersion", "kind", "resources", "patches"]);

// Kinds kustomize leaves without a namespace (cluster-scoped).
const CLUSTER_SCOPED = new Set([
  "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
  "ClusterSecretStore", "ClusterTriggerAuthentication", "StorageClass", "PriorityClass",
  "APIService",
]);

export function readYamlDocs(file) {
  const text = fs.readFileSync(file, "utf8");
  const docs = YAML.parseAllDocuments(text, { uniqueKeys: true });
  const out = [];
  for (const d of docs) {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
    const v = d.toJS({ maxAliasCount: -1 });
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

function idOf(o) {
  return `${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;
}

function isPlainObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

// Strategic merge as kustomize does it for the fields used here: maps merge; a null value
// deletes the key; lists with a Kubernetes merge key ("name" for containers, env, volumes, ...;
// "mountPath" for volumeMounts) merge item by item on built-in kinds; every other list is
// replaced, as kustomize replaces the lists of custom resources, whose schemas it does not know.
const MERGE_KEY = new Map([
  ...["containers", "initContainers", "ephemeralContainers", "env", "volumes", "imagePullSecrets"].map((k) => [k, "name"]),
  ["volumeMounts", "mountPath"],
]);

export function strategicMerge(base, patch, builtIn = true) {
  if (!isPlainObject(base) || !isPlainObject(patch)) return structuredClone(patch);
  const out = structuredClone(base);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) {
      delete out[k];
    } else if (builtIn && MERGE_KEY.has(k) && Array.isArray(v) && Array.isArray(out[k]) &&
               mergeableBy(v, MERGE_KEY.get(k)) && mergeableBy(out[k], MERGE_KEY.get(k))) {
      const key = MERGE_KEY.get(k);
      const merged = out[k].map((x) => structuredClone(x));
      for (const item of v) {
        const i = merged.findIndex((m) => m[key] === item[key]);
        if (i >= 0) merged[i] = strategicMerge(merged[i], item, builtIn);
        else merged.push(structuredClone(item));
      }
      out[k] = merged;
    } else if (isPlainObject(v) && isPlainObject(out[k])) {
      out[k] = strategicMerge(out[k], v, builtIn);
    } else {
      out[k] = structuredClone(v);
    }
  }
  return out;
}

function mergeableBy(list, key) {
  return list.length > 0 && list.every((x) => isPlainObject(x) && typeof x[key] === "string");
}

// Built-in API groups: the core group ("v1") and the *.k8s.io groups plus apps, batch, policy,
// autoscaling. Anything else is a custom resource.
export function isBuiltIn(apiVersion) {
  if (!apiVersion.includes("/")) return true;
  const group = apiVersion.split("/")[0];
  return ["apps", "batch", "policy", "autoscaling"].includes(group) || group.endsWith(".k8s.io");
}

function podSpecs(o) {
  const specs = [];
  const t = o.spec?.template?.spec ?? o.spec?.jobTemplate?.spec?.template?.spec;
  if (t) specs.push(t);
  return specs;
}

function applyImages(objects, images, where) {
  for (const img of images) {
    let used = false;
    for (const o of objects) {
      for (const ps of podSpecs(o)) {
        for (const c of [...(ps.containers ?? []), ...(ps.initContainers ?? [])]) {
          const name = c.image.replace(/[:@].*$/, "");
          if (name !== img.name) continue;
          used = true;
          const tag = img.newTag ?? (c.image.includes(":") ? c.image.split(":").pop() : undefined);
          c.image = (img.newName ?? name) + (img.digest ? `@${img.digest}` : tag ? `:${tag}` : "");
        }
      }
    }
    if (!used) throw new Error(`${where}: images entry "${img.name}" matches no container image`);
  }
}

// The objects of a kustomization's (or component's) resources: files, or directories rendered
// as kustomizations of their own.
function readResources(kfile, dir, resources, seen) {
  const objects = [];
  for (const r of resources ?? []) {
    const p = path.join(dir, r);
    if (!fs.existsSync(p)) throw new Error(`${kfile}: resource ${r} does not exist`);
    if (fs.statSync(p).isDirectory()) objects.push(...render(p, new Set(seen)));
    else objects.push(...readYamlDocs(p));
  }
  for (const o of objects) {
    if (!o.apiVersion || !o.kind || !o.metadata?.name) {
      throw new Error(`${kfile}: an object without apiVersion, kind or metadata.name: ${JSON.stringify(o).slice(0, 120)}`);
    }
  }
  return objects;
}

function applyPatches(kfile, dir, patches, objects) {
  for (const p of patches ?? []) {
    const patchDocs = p.path ? readYamlDocs(path.join(dir, p.path)) : [YAML.parse(p.patch)];
    if (patchDocs.length !== 1) throw new Error(`${kfile}: patch ${p.path} must hold one object`);
    const patch = patchDocs[0];
    const target = p.target ?? { kind: patch.kind, name: patch.metadata?.name };
    const matches = objects.filter((o) =>
      (!target.kind || o.kind === target.kind) && (!target.name || o.metadata.name === target.name));
    if (matches.length === 0) throw new Error(`${kfile}: patch ${p.path ?? "(inline)"} matches no object`);
    objects = objects.map((o) => (matches.includes(o) ? strategicMerge(o, patch, isBuiltIn(o.apiVersion)) : o));
  }
  return objects;
}

export function render(dir, seen = new Set()) {
  const kfile = path.join(dir, "kustomization.yaml");
  if (!fs.existsSync(kfile)) throw new Error(`${dir}: no kustomization.yaml`);
  if (seen.has(kfile)) throw new Error(`${kfile}: cycle in resources`);
  seen.add(kfile);
  const [k] = readYamlDocs(kfile);
  for (const key of Object.keys(k)) {
    if (!SUPPORTED.has(key)) {
      throw new Error(`${kfile}: field "${key}" is not supported by tools/deploy-check's renderer`);
    }
  }
  if (k.kind !== "Kustomization") throw new Error(`${kfile}: kind must be Kustomization`);

  let objects = readResources(kfile, dir, k.resources, seen);
  for (const c of k.components ?? []) {
    const cdir = path.join(dir, c);
    const cfile = path.join(cdir, "kustomization.yaml");
    if (!fs.existsSync(cfile)) throw new Error(`${kfile}: component ${c} has no kustomization.yaml`);
    const [ck] = readYamlDocs(cfile);
    for (const key of Object.keys(ck)) {
      if (!COMPONENT_SUPPORTED.has(key)) {
        throw new Error(`${cfile}: field "${key}" is not supported in a component by tools/deploy-check's renderer`);
      }
    }
    if (ck.kind !== "Component") throw new Error(`${cfile}: kind must be Component`);
    objects.push(...readResources(cfile, cdir, ck.resources, seen));
    objects = applyPatches(cfile, cdir, ck.patches, objects);
  }
  objects = applyPatches(kfile, dir, k.patches, objects);

  if (k.images) applyImages(objects, k.images, kfile);

  for (const l of k.labels ?? []) {
    if (l.includeSelectors) throw new Error(`${kfile}: labels.includeSelectors would change immutable selectors`);
    for (const o of objects) {
      o.metadata.labels = { ...(o.metadata.labels ?? {}), ...l.pairs };
      if (l.includeTemplates) {
        for (const tpl of [o.spec?.template]) {
          if (tpl?.metadata) tpl.metadata.labels = { ...(tpl.metadata.labels ?? {}), ...l.pairs };
        }
      }
    }
  }

  if (k.namespace) {
    for (const o of objects) {
      if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
    }
  }

  const ids = new Set();
  for (const o of objects) {
    const id = idOf(o);
    if (ids.has(id)) throw new Error(`${kfile}: ${id} is defined twice`);
    ids.add(id);
  }
  return objects;
}
