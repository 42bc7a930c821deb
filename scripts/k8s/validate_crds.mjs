// Validates custom resources against the schemas their projects publish, as
// npm packages ship them: kubernetes-models compiles each CRD's
// openAPIV3Schema into a validator (types, required fields, enums, patterns,
// ranges, CEL-free structural rules). Pinned in package-lock.json;
// k8s/schemas/README.md says which upstream version each package carries.
//
// These validators accept fields the CRD does not define (the API server
// would prune them or, with kubectl's strict field validation, refuse them);
// k8s/schemas/custom-resources.yaml, applied by check_custom_resources.py,
// is the check that refuses unknown fields.
//
//   node validate_crds.mjs OBJECTS.json   (a JSON array of rendered objects)
// Prints one line per object; exit 1 if any fails.

import { readFileSync } from "node:fs";
import { Gateway } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway";
import { HTTPRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute";
import { GCPBackendPolicy } from "@kubernetes-models/gke/networking.gke.io/v1/GCPBackendPolicy";
import { HealthCheckPolicy } from "@kubernetes-models/gke/networking.gke.io/v1/HealthCheckPolicy";

const models = new Map(
  [Gateway, HTTPRoute, GCPBackendPolicy, HealthCheckPolicy].map((m) => [`${m.apiVersion}/${m.kind}`, m]),
);

const objects = JSON.parse(readFileSync(process.argv[2], "utf8"));
let failed = 0;
for (const obj of objects) {
  const Model = models.get(`${obj.apiVersion}/${obj.kind}`);
  if (!Model) continue;
  const name = `${obj.apiVersion}/${obj.kind} ${obj.metadata?.name}`;
  try {
    new Model(obj).validate();
    console.log(`  ${name}: valid (published schema)`);
  } catch (e) {
    failed++;
    const details = (e.errors ?? []).map((x) => `${x.instancePath || "/"} ${x.message}`).join("; ");
    console.log(`  ${name}: INVALID: ${details || e.message}`);
  }
}
process.exit(failed ? 1 : 0);
