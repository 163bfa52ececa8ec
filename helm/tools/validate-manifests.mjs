#!/usr/bin/env node
// Validates every object of rendered manifests (a multi-document YAML file, or stdin) against the Kubernetes API
// schemas of the npm kubernetes-models packages (core and apps/policy/networking..., and the prometheus-operator CRDs
// for ServiceMonitor). Prints one line per object, "ok <kind>/<name>" or "invalid <kind>/<name>: <errors>", and a
// closing "N objects, M invalid"; exits 1 when any object is invalid or has a kind it has no schema for.
// Usage: node validate-manifests.mjs [manifests.yaml] [--json objects.json]  (--json also writes the objects as a
// JSON array, for tests that assert what the chart renders).
import fs from "node:fs";
import YAML from "yaml";

async function modelFor(apiVersion, kind) {
  const group = apiVersion.includes("/") ? apiVersion : `core/${apiVersion}`;
  const [g, v] = group.split("/");
  const candidates = g === "monitoring.coreos.com"
    ? [`@kubernetes-models/prometheus-operator/${g}/${v}`]
    : [g === "core" ? `kubernetes-models/${v}` : `kubernetes-models/${g}/${v}`];
  for (const path of candidates) {
    try {
      const mod = await import(path);
      if (mod[kind]) return mod[kind];
    } catch (e) {
      if (e.code !== "ERR_MODULE_NOT_FOUND" && e.code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw e;
    }
  }
  return null;
}

const args = process.argv.slice(2);
const jsonAt = args.indexOf("--json");
const jsonOut = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : null;
const input = fs.readFileSync(args[0] ?? 0, "utf8");
const objects = [];
let total = 0, invalid = 0;
for (const doc of YAML.parseAllDocuments(input)) {
  if (doc.errors.length) {
    console.log(`invalid YAML: ${doc.errors.map(e => e.message).join("; ")}`);
    invalid++;
    continue;
  }
  const obj = doc.toJSON();
  if (obj == null) continue;
  total++;
  objects.push(obj);
  const id = `${obj.kind}/${obj.metadata?.name ?? "?"}`;
  const Model = obj.apiVersion && obj.kind ? await modelFor(obj.apiVersion, obj.kind) : null;
  if (!Model) {
    console.log(`invalid ${id}: no schema for apiVersion ${obj.apiVersion} kind ${obj.kind}`);
    invalid++;
    continue;
  }
  try {
    new Model(obj).validate();
    console.log(`ok ${id}`);
  } catch (e) {
    invalid++;
    const details = (e.errors ?? []).map(x => `${x.instancePath || "/"} ${x.message}`).join("; ") || e.message;
    console.log(`invalid ${id}: ${details}`);
  }
}
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(objects, null, 1));
console.log(`${total} objects, ${invalid} invalid`);
process.exit(invalid > 0 || total === 0 ? 1 : 0);
