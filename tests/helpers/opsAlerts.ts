// The alert rules as the stacks render them (the PrometheusRule objects of the plans, with the Prometheus
// Operator on), written as promtool rule files; and the CRD schemas of the Prometheus Operator.

import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { parseStackConfig } from "../../components/stackConfig";
import type { MonitoringSettings } from "../../components/config/operations";
import { planMariaDb } from "../../components/mariadb";
import { planKafka } from "../../components/kafka";
import type { LabelledObjectPlan } from "../../components/monitoring/objects";
import { planRedis } from "../../components/redis";
import { CERTIFICATE_NOT_AFTER_TOKEN, type ExtraObjectPlan } from "../../components/workload/plan";
import { TEST_JMX_AGENT } from "./ops";
import { decodeConfigValue } from "../../components/stackConfig";
import { readProjectName, readStackFile, ROOT } from "../../scripts/lib/mockRuntime";

export const SERVICES = ["mariadb", "redis", "kafka"] as const;

/** The generated certificates' end of validity in the promtool fixtures: day 30 of the test's clock. */
export const TEST_CERTIFICATE_NOT_AFTER_SECONDS = 30 * 86400;
export type Service = (typeof SERVICES)[number];

/** A stack's validated config (its file, or `override`), with the Prometheus Operator on. */
export function stackWithOperator(stack: string): { config: ReturnType<typeof parseStackConfig>; monitoring: MonitoringSettings } {
    const project = readProjectName(ROOT);
    const raw: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(readStackFile(ROOT, stack))) {
        if (k.startsWith(`${project}:`)) raw[k.slice(project.length + 1)] = decodeConfigValue(v);
    }
    delete raw.monitoring;
    const config = parseStackConfig(raw);
    const monitoring: MonitoringSettings = {
        ...config.monitoring,
        prometheusOperator: true,
        selectorLabels: { release: "kube-prometheus-stack" },
    };
    return { config, monitoring };
}


/** The monitoring objects (PodMonitor, PrometheusRule) of each service of a stack (Kafka with kafka.jmxAgent). */
export function monitoringObjects(stack: string): Record<Service, ExtraObjectPlan[]> {
    const { config, monitoring } = stackWithOperator(stack);
    // Exporters on in dev too: the objects of both stacks are validated.
    const platform = { ...config, monitoring: { ...monitoring, exporters: true } };
    return {
        mariadb: planMariaDb(config.mariadb, platform).extraObjects ?? [],
        redis: planRedis(config.redis, platform).extraObjects ?? [],
        kafka: planKafka({ ...config.kafka, jmxAgent: TEST_JMX_AGENT }, platform).extraObjects ?? [],
    };
}

/** A Kubernetes manifest of a plan's extra object, as the renderer declares it (metadata labels merged). */
export function asManifest(o: ExtraObjectPlan, namespace: string): Record<string, unknown> {
    const labels = (o as Partial<LabelledObjectPlan>).labels ?? {};
    return { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.name, namespace, labels }, ...o.body };
}

/** Writes `<service>.rules.yaml` (the PrometheusRule's spec: a promtool rule file) into dir; returns the paths. */
export function writeRuleFiles(stack: string, dir: string): Record<Service, string> {
    const objects = monitoringObjects(stack);
    const out = {} as Record<Service, string>;
    for (const s of SERVICES) {
        const rule = objects[s].find((o) => o.kind === "PrometheusRule");
        if (!rule) throw new Error(`${stack}: ${s} renders no PrometheusRule`);
        out[s] = path.join(dir, `${s}.rules.yaml`);
        // The renderer puts the generated certificate's end of validity in; the fixtures assume day 30.
        const text = YAML.stringify((rule.body as { spec: unknown }).spec).split(CERTIFICATE_NOT_AFTER_TOKEN).join(String(TEST_CERTIFICATE_NOT_AFTER_SECONDS));
        fs.writeFileSync(out[s], text);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------
// CRD schemas: a validator for the structural OpenAPI v3 schemas CRDs carry (the subset they use).

export type Schema = {
    type?: string;
    properties?: Record<string, Schema>;
    required?: string[];
    items?: Schema;
    additionalProperties?: Schema | boolean;
    enum?: unknown[];
    pattern?: string;
    minimum?: number;
    maximum?: number;
    minLength?: number;
    maxLength?: number;
    minItems?: number;
    anyOf?: Schema[];
    oneOf?: Schema[];
    "x-kubernetes-int-or-string"?: boolean;
    "x-kubernetes-preserve-unknown-fields"?: boolean;
};

/** The openAPIV3Schema of the served version of a CRD file. */
export function crdSchema(file: string, version = "v1"): Schema {
    const crd = YAML.parse(fs.readFileSync(file, "utf8")) as { spec: { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] } };
    const v = crd.spec.versions.find((x) => x.name === version);
    if (!v) throw new Error(`${file}: no version ${version}`);
    return v.schema.openAPIV3Schema;
}

/** Every violation of `value` against `schema` (unknown fields included, as strict field validation reports them). */
export function schemaErrors(schema: Schema, value: unknown, at = ""): string[] {
    const where = at || "(root)";
    if (schema["x-kubernetes-int-or-string"]) {
        return typeof value === "string" || Number.isInteger(value) ? [] : [`${where}: expected an integer or a string`];
    }
    if (schema.anyOf && !schema.anyOf.some((s) => schemaErrors({ ...s, type: s.type ?? schema.type }, value, at).length === 0)) {
        return [`${where}: matches none of anyOf`];
    }
    const errors: string[] = [];
    switch (schema.type) {
        case "object": {
            if (typeof value !== "object" || value === null || Array.isArray(value)) return [`${where}: expected an object`];
            const obj = value as Record<string, unknown>;
            for (const r of schema.required ?? []) if (!(r in obj)) errors.push(`${where}: missing required ${r}`);
            for (const [k, v] of Object.entries(obj)) {
                const sub = schema.properties?.[k] ?? (typeof schema.additionalProperties === "object" ? schema.additionalProperties : undefined);
                if (sub) errors.push(...schemaErrors(sub, v, `${at}.${k}`));
                else if (!schema["x-kubernetes-preserve-unknown-fields"] && schema.additionalProperties !== true && (schema.properties || schema.additionalProperties === false)) {
                    errors.push(`${at}.${k}: unknown field`);
                }
            }
            return errors;
        }
        case "array":
            if (!Array.isArray(value)) return [`${where}: expected an array`];
            if (schema.minItems !== undefined && value.length < schema.minItems) errors.push(`${where}: fewer than ${schema.minItems} items`);
            value.forEach((v, i) => schema.items && errors.push(...schemaErrors(schema.items, v, `${at}[${i}]`)));
            return errors;
        case "string":
            if (typeof value !== "string") return [`${where}: expected a string`];
            if (schema.pattern && !new RegExp(schema.pattern).test(value)) errors.push(`${where}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
            if (schema.minLength !== undefined && value.length < schema.minLength) errors.push(`${where}: shorter than ${schema.minLength}`);
            if (schema.maxLength !== undefined && value.length > schema.maxLength) errors.push(`${where}: longer than ${schema.maxLength}`);
            break;
        case "integer":
            if (!Number.isInteger(value)) return [`${where}: expected an integer`];
            break;
        case "number":
            if (typeof value !== "number") return [`${where}: expected a number`];
            break;
        case "boolean":
            if (typeof value !== "boolean") return [`${where}: expected a boolean`];
            break;
    }
    if (schema.enum && !schema.enum.includes(value)) errors.push(`${where}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
    if (typeof value === "number" && schema.minimum !== undefined && value < schema.minimum) errors.push(`${where}: below ${schema.minimum}`);
    return errors;
}
