// jq's configuration keys, read from src/core/config.cpp's key table (the source of truth the
// loader uses), and the environment variables that set them.
import fs from "node:fs";
import path from "node:path";

export function loadConfigKeys(root) {
  const src = fs.readFileSync(path.join(root, "src/core/config.cpp"), "utf8");
  const keys = new Set();
  for (const m of src.matchAll(/\{"([a-z_]+\.[a-z_.]+)",\s*K::k\w+/g)) keys.add(m[1]);
  if (keys.size < 20) throw new Error("src/core/config.cpp: could not read the configuration key table");
  return keys;
}

export function envName(key) {
  return `JQ_${key.replace(/\./g, "_").toUpperCase()}`;
}

// Variables the programs read besides JQ_<KEY>: jq-ctl's and the worker's JQ_SERVER_ADDR and
// JQ_API_KEY (for the worker, in place of JQ_WORKER_API_KEY), and the worker's
// JQ_METRICS_ADDR / JQ_HEALTH_ADDR (config.example.yaml, worker section).
const EXTRA_ENV = new Set(["JQ_SERVER_ADDR", "JQ_API_KEY", "JQ_METRICS_ADDR", "JQ_HEALTH_ADDR"]);

export function knownEnv(keys) {
  const env = new Set(EXTRA_ENV);
  for (const k of keys) env.add(envName(k));
  return env;
}

// Flattens a parsed config.yaml into dotted keys.
export function flattenConfig(obj, prefix = "") {
  const out = [];
  for (const [k, v] of Object.entries(obj ?? {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) out.push(...flattenConfig(v, key));
    else out.push([key, v]);
  }
  return out;
}
