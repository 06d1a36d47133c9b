// The layout of a render output directory (`npm run render -- --out <dir>`), shared by the writer (render)
// and the readers (diff): <namespace or _cluster>/<kind>-<name>.yaml per object, the resources file, and
// the marker that says the directory is ours and which stack and seed produced it.

import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import type { Manifest, RegisteredResource } from "./mockRuntime";

/** Written into every output directory, so a later render may clear it without touching unrelated folders. */
export const MARKER = ".msa-infra-render";
/** One line per resource, `<urn> [option ...]`, sorted. */
export const RESOURCES_FILE = "pulumi-resources.txt";

/** The marker's text: what produced the directory. */
export function markerText(stack: string, seed: string | undefined): string {
    return (
        "Written by `npm run render`; the directory is replaced on each render.\n" +
        `stack: ${stack}\n` +
        (seed === undefined ? "" : `seed: ${seed}\n`)
    );
}

/** The stack and seed recorded in a render directory's marker; undefined if the directory is not a render. */
export function readMarker(dir: string): { stack?: string; seed?: string } | undefined {
    const file = path.join(dir, MARKER);
    if (!fs.existsSync(file)) {
        return undefined;
    }
    const fields: Record<string, string> = {};
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        const m = /^(stack|seed): (.+)$/.exec(line);
        if (m) {
            fields[m[1]] = m[2];
        }
    }
    return { stack: fields.stack, seed: fields.seed };
}

/** `<urn> protect retainOnDelete ...`: what a reviewer compares to see renamed or re-parented resources. */
export function resourceLines(resources: RegisteredResource[]): string[] {
    return resources
        .map((r) => {
            const flags = [
                r.options.protect ? "protect" : "",
                r.options.retainOnDelete ? "retainOnDelete" : "",
                r.options.deleteBeforeReplace ? "deleteBeforeReplace" : "",
                r.options.replaceOnChanges?.length ? `replaceOnChanges=${r.options.replaceOnChanges.join(",")}` : "",
            ].filter((f) => f !== "");
            return [r.urn, ...flags].join(" ");
        })
        .sort();
}

/** A render directory read back: every object by its relative file path, and the resource lines. */
export interface RenderDir {
    objects: Map<string, Manifest>;
    resources: string[] | undefined;
}

/** Reads a render directory (every .yaml file below it, and the resources file if present). */
export function readRenderDir(dir: string): RenderDir {
    const objects = new Map<string, Manifest>();
    const walk = (rel: string) => {
        for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
            const child = path.join(rel, entry.name);
            if (entry.isDirectory()) {
                walk(child);
            } else if (entry.name.endsWith(".yaml")) {
                objects.set(child, YAML.parse(fs.readFileSync(path.join(dir, child), "utf8")) as Manifest);
            }
        }
    };
    walk("");
    const resourcesFile = path.join(dir, RESOURCES_FILE);
    const resources = fs.existsSync(resourcesFile)
        ? fs.readFileSync(resourcesFile, "utf8").split("\n").filter((l) => l !== "")
        : undefined;
    return { objects, resources };
}
