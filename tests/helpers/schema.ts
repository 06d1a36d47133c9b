// Validates manifests against the Kubernetes OpenAPI schema, using the kubernetes-models classes.

// kubernetes-models is ESM-only; keep a real dynamic import (the TypeScript CommonJS output would turn
// `import()` into `require()`, which its package exports do not allow).
const importEsm = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<Record<string, unknown>>;

interface Validatable {
    validate(): void;
}

/** Module path of the kubernetes-models group/version for an apiVersion ("v1" → kubernetes-models/v1). */
export function modelModule(apiVersion: string): string {
    return `kubernetes-models/${apiVersion}`;
}

/** Validates one manifest; throws with the object's kind/namespace/name and the schema error. */
export async function validateManifest(manifest: { apiVersion: string; kind: string; metadata?: { name?: string; namespace?: string } }): Promise<void> {
    const id = `${manifest.kind} ${manifest.metadata?.namespace ?? "-"}/${manifest.metadata?.name}`;
    let mod: Record<string, unknown>;
    try {
        mod = await importEsm(modelModule(manifest.apiVersion));
    } catch (e) {
        throw new Error(`${id}: no schema for apiVersion ${manifest.apiVersion}: ${(e as Error).message}`);
    }
    const Model = mod[manifest.kind] as (new (data: unknown) => Validatable) | undefined;
    if (!Model) {
        throw new Error(`${id}: no schema for kind ${manifest.kind} in ${manifest.apiVersion}`);
    }
    try {
        new Model(manifest).validate();
    } catch (e) {
        throw new Error(`${id}: ${(e as Error).message}`);
    }
}
