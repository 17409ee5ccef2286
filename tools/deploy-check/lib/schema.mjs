// Kubernetes objects checked against the schemas of the npm kubernetes-models packages
// (Kubernetes' own OpenAPI, and the CRDs of KEDA, the Prometheus operator, External Secrets
// and cert-manager). Their validators accept unknown fields, which the API server rejects under
// strict field validation (kubectl's default), so unknown fields are found here from the
// packages' type declarations (.d.ts): every property of every typed object must be declared.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeModules = path.join(here, "..", "node_modules");
const require = createRequire(import.meta.url);

const PACKAGES = [
  "kubernetes-models",
  "@kubernetes-models/keda",
  "@kubernetes-models/prometheus-operator",
  "@kubernetes-models/external-secrets",
  "@kubernetes-models/cert-manager",
];

function modelPath(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const rel = group ? `${group}/${version}/${kind}` : `${version}/${kind}`;
  for (const pkg of PACKAGES) {
    const p = path.join(nodeModules, pkg, `${rel}.js`);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

// Custom resources without an npm model: their required and known fields, written from the
// CRD (AWS Load Balancer Controller v2, elbv2.k8s.aws/v1beta1 TargetGroupBinding).
const HAND_SCHEMAS = {
  "elbv2.k8s.aws/v1beta1/TargetGroupBinding": (o) => {
    const e = [];
    const spec = o.spec ?? {};
    const known = new Set(["targetGroupARN", "targetGroupName", "targetType", "serviceRef", "networking", "nodeSelector", "ipAddressType", "vpcID", "multiClusterTargetGroup"]);
    for (const k of Object.keys(spec)) if (!known.has(k)) e.push(`unknown field "spec.${k}" (not in TargetGroupBindingSpec)`);
    if (!spec.targetGroupARN && !spec.targetGroupName) e.push("spec.targetGroupARN (or targetGroupName) is required");
    if (spec.targetGroupARN && !/^arn:aws:elasticloadbalancing:/.test(spec.targetGroupARN)) e.push("spec.targetGroupARN must be a target group ARN");
    if (!spec.serviceRef?.name || spec.serviceRef?.port === undefined) e.push("spec.serviceRef.name and spec.serviceRef.port are required");
    if (spec.targetType && !["ip", "instance"].includes(spec.targetType)) e.push("spec.targetType must be ip or instance");
    for (const k of Object.keys(o)) if (!["apiVersion", "kind", "metadata", "spec"].includes(k)) e.push(`unknown field "${k}"`);
    return e;
  },
};

export async function validateSchema(obj) {
  const hand = HAND_SCHEMAS[`${obj.apiVersion}/${obj.kind}`];
  if (hand) return hand(obj);
  const p = modelPath(obj.apiVersion, obj.kind);
  if (!p) return [`no schema for ${obj.apiVersion} ${obj.kind} in ${PACKAGES.join(", ")}`];
  const mod = await import(p);
  const Model = mod[obj.kind] ?? mod.default;
  const errors = [];
  try {
    new Model(obj).validate();
  } catch (e) {
    errors.push(e.message);
  }
  errors.push(...unknownFields(obj, p.replace(/\.js$/, ".d.ts"), ""));
  return errors;
}

// --- unknown fields from the .d.ts declarations ---------------------------------------------

const dtsCache = new Map();

function resolveImport(fromFile, spec) {
  if (spec.startsWith(".")) return path.resolve(path.dirname(fromFile), spec.replace(/\.js$/, ".d.ts"));
  return path.join(nodeModules, `${spec}.d.ts`);
}

// The first interface of a declaration file: property name -> type text, plus its imports.
function parseDts(file) {
  if (dtsCache.has(file)) return dtsCache.get(file);
  let result = null;
  if (fs.existsSync(file)) {
    const text = fs.readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
    const imports = new Map();
    for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
      for (const name of m[1].split(",").map((s) => s.trim().split(/\s+as\s+/).pop())) {
        if (name) imports.set(name, resolveImport(file, m[2]));
      }
    }
    const start = text.search(/export interface \w+[^{]*\{/);
    if (start >= 0) {
      const open = text.indexOf("{", start);
      const props = new Map();
      let depth = 0, piece = "";
      for (let i = open + 1; i < text.length; i++) {
        const c = text[i];
        if (c === "{" || c === "<" || c === "(" || c === "[") depth++;
        if (c === "}" || c === ">" || c === ")" || c === "]") {
          if (depth === 0) break;
          depth--;
        }
        if (c === ";" && depth === 0) {
          const m = piece.match(/^\s*"([^"]+)"\??:\s*([\s\S]*)$/);
          if (m) props.set(m[1], m[2].trim());
          piece = "";
        } else {
          piece += c;
        }
      }
      result = { props, imports };
    }
  }
  dtsCache.set(file, result);
  return result;
}

function isPlainObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function checkValue(value, type, decl, where) {
  type = type.trim();
  const arr = type.match(/^Array<([\s\S]*)>$/);
  if (arr) {
    if (!Array.isArray(value)) return [];
    return value.flatMap((v, i) => checkValue(v, arr[1], decl, `${where}[${i}]`));
  }
  const ref = decl.imports.get(type);
  if (ref && isPlainObject(value)) return unknownFields(value, ref, where);
  // Inline object types, maps ({ [key: string]: ... }), aliases and primitives: not descended.
  return [];
}

function unknownFields(obj, dtsFile, where) {
  const decl = parseDts(dtsFile);
  if (!decl || decl.props.size === 0 || !isPlainObject(obj)) return [];
  const errors = [];
  for (const [k, v] of Object.entries(obj)) {
    const type = decl.props.get(k);
    const at = where ? `${where}.${k}` : k;
    if (type === undefined) {
      errors.push(`unknown field "${at}" (not in ${path.basename(dtsFile, ".d.ts")})`);
      continue;
    }
    errors.push(...checkValue(v, type, decl, at));
  }
  return errors;
}

// For tests of the checker itself.
export const _internal = { parseDts, modelPath, require };
