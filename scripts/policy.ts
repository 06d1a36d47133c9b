// Offline policy runner: checks Kubernetes manifests against the msa-infra-security pack without
// the Pulumi CLI.
//
//   npm run policy -- <file-or-dir>... [--config <policy-config.json>]
//   npm run policy -- --stack <name> [--config <policy-config.json>]
//
// Prints one line per violation (`<enforcement> <policy> <kind> <namespace>/<name>: <message>`)
// and a count line. Exit codes: 0 = no mandatory violation (advisory ones allowed), 1 = at least
// one mandatory violation, 2 = usage, read or parse error (the message names the file).
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";

const ROOT = path.resolve(__dirname, "..");

const USAGE = `usage: npm run policy -- <file-or-dir>... [--config <policy-config.json>]
       npm run policy -- --stack <name> [--config <policy-config.json>]

  <file-or-dir>   Kubernetes manifests: YAML (multi-document, kind: List) or JSON files;
                  directories are searched recursively for .yaml, .yml and .json files
  -s, --stack     the program's objects for Pulumi.<name>.yaml, rendered offline as
                  npm run render does (nothing written), instead of manifest files
  -c, --config    policy config in the Pulumi CLI --policy-pack-config format,
                  e.g. Pulumi.prod.policy.json (default: every policy mandatory; with
                  --stack, Pulumi.<name>.policy.json when there is one)
  -h, --help      show this help

exit codes: 0 no mandatory violation, 1 mandatory violations, 2 usage or parse error`;

export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
    let parsed: ReturnType<typeof parseArgs<{ options: { config: { type: "string"; short: "c" }; stack: { type: "string"; short: "s" }; help: { type: "boolean"; short: "h" } }; allowPositionals: true }>>;
    try {
        parsed = parseArgs({
            args: argv,
            allowPositionals: true,
            strict: true,
            options: { config: { type: "string", short: "c" }, stack: { type: "string", short: "s" }, help: { type: "boolean", short: "h" } },
        });
    } catch (e) {
        err.write(`policy: ${(e as Error).message}\n\n${USAGE}\n`);
        return 2;
    }
    if (parsed.values.help) {
        out.write(`${USAGE}\n`);
        return 0;
    }
    const stack = parsed.values.stack;
    if (stack !== undefined && parsed.positionals.length > 0) {
        err.write(`policy: --stack renders the stack's objects; give either --stack or manifest paths, not both\n\n${USAGE}\n`);
        return 2;
    }
    if (stack === undefined && parsed.positionals.length === 0) {
        err.write(`policy: no manifest files or directories given\n\n${USAGE}\n`);
        return 2;
    }
    // Loaded lazily so usage errors stay fast.
    const offline = await import("../policy/runner");
    let manifests: object[];
    let config: ReturnType<typeof offline.loadPolicyConfig>;
    try {
        let configFile = parsed.values.config;
        if (stack !== undefined) {
            const { renderStack, RenderError } = await import("./lib/mockRuntime");
            const stackPolicy = path.join(ROOT, `Pulumi.${stack}.policy.json`);
            configFile ??= fs.existsSync(stackPolicy) ? stackPolicy : undefined;
            try {
                manifests = (await renderStack(stack)).objects;
            } catch (e) {
                if (e instanceof RenderError) {
                    err.write(`policy: --stack ${stack}: ${e.message}\n`);
                    return 2;
                }
                throw e;
            }
        } else {
            manifests = offline.loadManifests(parsed.positionals);
        }
        config = offline.loadPolicyConfig(configFile);
    } catch (e) {
        if (e instanceof offline.ManifestError || e instanceof offline.PolicyConfigError) {
            err.write(`policy: ${e.message}\n`);
            return 2;
        }
        throw e;
    }
    const violations = await offline.evaluate(manifests, config);
    out.write(`${offline.formatReport(violations)}\n`);
    return offline.hasMandatory(violations) ? 1 : 0;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => {
            process.exitCode = code;
        },
        (e: unknown) => {
            process.stderr.write(`policy: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
            process.exitCode = 2;
        },
    );
}
