// Checks of terraform/ without Terraform or an AWS account: every file parses as HCL
// (@cdktf/hcl2json, HashiCorp's HCL parser compiled to WebAssembly), every variable is
// declared, described, typed and used, every reference names something declared, the
// resources the seed system lists exist, and the settings jq's deployment promises hold
// (encryption, Multi-AZ, backups, scan on push, security groups without open CIDRs).
import fs from "node:fs";
import path from "node:path";
import { parse } from "@cdktf/hcl2json";

// What the seed's tech stack lists for AWS (shared/seeds/001-cpp-jq-tech-stack.md, "Cloud
// Infrastructure") and issue 10 asks for, as resource types.
const REQUIRED_TYPES = {
  aws_vpc: "VPC", aws_subnet: "private subnets", aws_nat_gateway: "NAT for private subnets",
  aws_eks_cluster: "EKS", aws_eks_node_group: "EKS node groups",
  aws_iam_openid_connect_provider: "IAM roles for service accounts",
  aws_db_instance: "RDS PostgreSQL 15", aws_db_subnet_group: "RDS in private subnets",
  aws_elasticache_replication_group: "ElastiCache Redis", aws_msk_cluster: "MSK",
  aws_ecr_repository: "ECR", aws_secretsmanager_secret: "Secrets Manager",
  aws_security_group: "security groups", aws_cloudwatch_log_group: "CloudWatch Logs",
  aws_route53_zone: "Route 53", aws_kms_key: "encryption at rest",
  aws_lb: "ALB (gRPC, TLS termination)", aws_lb_target_group: "ALB targets (gRPC)",
};

function walkStrings(v, fn) {
  if (typeof v === "string") fn(v);
  else if (Array.isArray(v)) v.forEach((x) => walkStrings(x, fn));
  else if (v && typeof v === "object") Object.entries(v).forEach(([k, x]) => { fn(k); walkStrings(x, fn); });
}

const first = (blocks) => (Array.isArray(blocks) ? blocks[0] : blocks);
const isTrue = (v) => v === true || v === "true";

export async function checkTerraform(dir, { knownEnv = new Set() } = {}) {
  const errors = [];
  const names = fs.readdirSync(dir).filter((f) => f.endsWith(".tf")).sort();
  if (names.length === 0) return ["no .tf files"];
  const docs = {};
  for (const f of names) {
    try {
      docs[f] = await parse(f, fs.readFileSync(path.join(dir, f), "utf8"));
    } catch (e) {
      errors.push(`${f}: ${String(e.message ?? e).replace(/^Error: /, "")}`);
    }
  }
  // Examples are parsed too, so that they stay valid HCL.
  for (const f of fs.readdirSync(dir).filter((x) => /\.(tf|tfvars)\.example$/.test(x))) {
    try {
      await parse(f.replace(/\.example$/, ""), fs.readFileSync(path.join(dir, f), "utf8"));
    } catch (e) {
      errors.push(`${f}: ${String(e.message ?? e).replace(/^Error: /, "")}`);
    }
  }
  if (errors.length) return errors;

  const variables = {}, locals = new Set(), resources = {}, data = new Set(), outputs = {};
  const used = { var: new Map(), local: new Set(), res: new Set(), data: new Set() };
  for (const [f, d] of Object.entries(docs)) {
    for (const [n, b] of Object.entries(d.variable ?? {})) {
      if (variables[n]) errors.push(`${f}: variable ${n} declared twice`);
      variables[n] = { ...first(b), file: f };
    }
    for (const l of d.locals ?? []) Object.keys(l).forEach((n) => locals.add(n));
    for (const [t, byName] of Object.entries(d.resource ?? {})) {
      for (const [n, b] of Object.entries(byName)) resources[`${t}.${n}`] = first(b);
    }
    for (const [t, byName] of Object.entries(d.data ?? {})) Object.keys(byName).forEach((n) => data.add(`${t}.${n}`));
    for (const [n, b] of Object.entries(d.output ?? {})) outputs[n] = first(b);
    if (d.module) errors.push(`${f}: modules are not used here (they cannot be checked offline)`);

    // References, outside each variable's own block (its validation refers to itself).
    const { variable: _v, ...rest } = d;
    walkStrings(rest, (s) => {
      for (const m of s.matchAll(/\bvar\.([A-Za-z_][\w-]*)/g)) used.var.set(m[1], f);
      for (const m of s.matchAll(/\blocal\.([A-Za-z_][\w-]*)/g)) used.local.add(m[1]);
      for (const m of s.matchAll(/\bdata\.([a-z][\w]*)\.([A-Za-z_][\w-]*)/g)) used.data.add(`${m[1]}.${m[2]}`);
      for (const m of s.replace(/\bdata\.[a-z]\w*\.\w+/g, "").matchAll(/(?<![\w.])((?:aws|random|tls)_[a-z0-9_]+)\.([A-Za-z_][\w-]*)/g)) {
        used.res.add(`${m[1]}.${m[2]}`);
      }
    });
  }

  for (const [n, v] of Object.entries(variables)) {
    if (!v.description) errors.push(`variable ${n} (${v.file}) has no description`);
    if (!v.type) errors.push(`variable ${n} (${v.file}) has no type`);
    if (!used.var.has(n)) errors.push(`variable ${n} (${v.file}) is declared but never used`);
    for (const val of v.validation ?? []) {
      if (!String(val.condition).includes(`var.${n}`)) errors.push(`variable ${n}: a validation that does not test var.${n}`);
      if (!val.error_message) errors.push(`variable ${n}: a validation without error_message`);
    }
  }
  for (const [n, f] of used.var) if (!variables[n]) errors.push(`${f}: var.${n} is used but not declared`);
  for (const n of used.local) if (!locals.has(n)) errors.push(`local.${n} is used but not declared`);
  for (const n of locals) if (!used.local.has(n)) errors.push(`local.${n} is declared but never used`);
  for (const r of used.res) if (!resources[r]) errors.push(`${r} is referenced but not declared`);
  for (const r of used.data) if (!data.has(r)) errors.push(`data.${r} is referenced but not declared`);
  for (const r of data) if (!used.data.has(r)) errors.push(`data.${r} is declared but never used`);
  for (const [n, o] of Object.entries(outputs)) if (!o.description) errors.push(`output ${n} has no description`);
  if (Object.keys(outputs).length === 0) errors.push("no outputs");
  if (Object.values(variables).every((v) => !v.validation)) errors.push("no variable has a validation");

  const types = new Set(Object.keys(resources).map((r) => r.split(".")[0]));
  for (const [t, what] of Object.entries(REQUIRED_TYPES)) if (!types.has(t)) errors.push(`no ${t} (${what})`);

  const of = (type) => Object.entries(resources).filter(([k]) => k.startsWith(`${type}.`));
  for (const [k, r] of of("aws_subnet")) {
    if (k.includes("private") && isTrue(r.map_public_ip_on_launch)) errors.push(`${k}: a private subnet maps public IPs`);
  }
  if (!of("aws_subnet").some(([k]) => k.includes("private"))) errors.push("no private subnet (aws_subnet.private)");
  for (const [k, r] of of("aws_db_instance")) {
    if (r.engine !== "postgres") errors.push(`${k}: engine must be postgres`);
    if (!String(r.engine_version).startsWith("15")) errors.push(`${k}: engine_version must be 15 (jq is tested on PostgreSQL 15)`);
    if (!isTrue(r.storage_encrypted)) errors.push(`${k}: storage_encrypted must be true`);
    if (r.multi_az !== "${var.db_multi_az}" && !isTrue(r.multi_az)) errors.push(`${k}: multi_az must be true (or var.db_multi_az)`);
    if (variables.db_multi_az && variables.db_multi_az.default !== true) errors.push("variable db_multi_az must default to true");
    if (!r.backup_retention_period || r.backup_retention_period === 0) errors.push(`${k}: backup_retention_period must be set (point-in-time recovery)`);
    if (isTrue(r.publicly_accessible)) errors.push(`${k}: must not be publicly accessible`);
  }
  for (const [k, r] of of("aws_elasticache_replication_group")) {
    if (!isTrue(r.transit_encryption_enabled)) errors.push(`${k}: transit_encryption_enabled must be true`);
    if (!isTrue(r.at_rest_encryption_enabled)) errors.push(`${k}: at_rest_encryption_enabled must be true`);
    if (!r.auth_token) errors.push(`${k}: auth_token must be set`);
    if (!isTrue(r.automatic_failover_enabled) || !isTrue(r.multi_az_enabled)) errors.push(`${k}: needs automatic failover and Multi-AZ`);
  }
  for (const [k, r] of of("aws_msk_cluster")) {
    const enc = first(first(r.encryption_info)?.encryption_in_transit);
    if (!isTrue(enc?.in_cluster)) errors.push(`${k}: in-cluster encryption must be on`);
    if (!first(r.encryption_info)?.encryption_at_rest_kms_key_arn) errors.push(`${k}: encryption at rest needs a KMS key`);
  }
  for (const [k, r] of of("aws_ecr_repository")) {
    if (!isTrue(first(r.image_scanning_configuration)?.scan_on_push)) errors.push(`${k}: scan_on_push must be true`);
  }
  for (const [k, r] of of("aws_eks_node_group")) {
    if (!String(r.subnet_ids).includes("aws_subnet.private")) errors.push(`${k}: nodes must be in the private subnets`);
  }
  // From a security group: only jq's ports (PostgreSQL, Redis, Kafka, broker TLS, gRPC from
  // the ALB). By CIDR: only TLS (443) to the gRPC ALB, from a variable, never 0.0.0.0/0.
  const sgPorts = new Set([5432, 6379, 9092, 9094, 50051]);
  for (const [k, r] of [...of("aws_vpc_security_group_ingress_rule"), ...of("aws_security_group_rule")]) {
    const cidr = r.cidr_ipv4 ?? r.cidr_blocks ?? r.cidr_ipv6 ?? r.ipv6_cidr_blocks;
    const ports = new Set([Number(r.from_port), Number(r.to_port)]);
    if (r.ip_protocol === "-1" || r.protocol === "-1") errors.push(`${k}: all protocols admitted`);
    if (cidr) {
      if (!String(r.security_group_id).includes("aws_security_group.alb")) errors.push(`${k}: ingress by CIDR is allowed only into the gRPC ALB`);
      if ([...ports].some((p) => p !== 443)) errors.push(`${k}: the ALB admits clients on 443 only`);
      if (String(cidr).includes("0.0.0.0/0") || !String(cidr).includes("${")) errors.push(`${k}: client CIDRs must come from a variable, never 0.0.0.0/0`);
      continue;
    }
    if (!r.referenced_security_group_id && !r.source_security_group_id) errors.push(`${k}: must name the security group it admits`);
    for (const p of ports) if (!sgPorts.has(p)) errors.push(`${k}: port ${p} is not one jq needs (${[...sgPorts].join(", ")})`);
  }
  for (const [k, r] of of("aws_security_group")) {
    if (r.ingress || r.egress) errors.push(`${k}: inline rules; use aws_vpc_security_group_*_rule resources`);
  }

  // The runtime secret's keys are variables jq reads.
  for (const [k, r] of of("aws_secretsmanager_secret_version")) {
    const m = String(r.secret_string).match(/jsonencode\(\{([\s\S]*)\}\)/);
    for (const key of m ? [...m[1].matchAll(/\b(JQ_[A-Z0-9_]+)\s*=/g)].map((x) => x[1]) : []) {
      if (!knownEnv.has(key)) errors.push(`${k}: ${key} is not a variable jq reads`);
    }
  }
  return errors;
}
