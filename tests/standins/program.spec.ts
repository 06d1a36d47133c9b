// The stand-ins cover the program: every random and tls resource that dev and prod declare passes the
// stand-in's Check as declared, the stand-ins implement exactly the types the program uses, and they keep
// secret exactly the outputs the installed SDKs mark secret (additionalSecretOutputs), so a stack run with
// them stores what a stack run with the real plugins stores as secret.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { renderStack, ROOT, type RegisteredResource } from "../../scripts/lib/mockRuntime";
import { RANDOM_TYPES } from "../../tools/pulumi/standins/random";
import { TLS_TYPES } from "../../tools/pulumi/standins/tls";
import type { ResourceType } from "../../tools/pulumi/standins/provider";
import { Driver } from "./helpers";

const STANDINS: { pkg: string; types: readonly ResourceType[] }[] = [
    { pkg: "random", types: RANDOM_TYPES },
    { pkg: "tls", types: TLS_TYPES },
];

/** The SDK class file of a type token, e.g. tls:index/certRequest:CertRequest -> node_modules/@pulumi/tls/certRequest.js. */
function sdkFile(token: string): string {
    const [pkg, mod] = token.split(":");
    return path.join(ROOT, "node_modules", "@pulumi", pkg, `${mod.split("/")[1]}.js`);
}

describe("stand-ins and the program", function () {
    this.timeout(120_000);
    const declared: RegisteredResource[] = [];

    before(async () => {
        for (const stack of ["dev", "prod"]) {
            declared.push(...(await renderStack(stack)).resources.filter((r) => r.custom && /^(random|tls):/.test(r.type)));
        }
    });

    it("implement exactly the random and tls resource types dev and prod declare", () => {
        const used = [...new Set(declared.map((r) => r.type))].sort();
        const implemented = STANDINS.flatMap((s) => s.types.map((t) => t.token)).sort();
        assert.deepStrictEqual(implemented, used);
    });

    it("accept every random and tls resource of dev and prod as the program declares it", async () => {
        for (const { pkg, types } of STANDINS) {
            const d = new Driver("0.0.0", types);
            for (const r of declared.filter((x) => x.type.startsWith(`${pkg}:`))) {
                assert.deepStrictEqual(await d.failures(r.type, r.inputs), [], `${r.type} ${r.name}`);
            }
        }
        assert.ok(declared.length > 20, `only ${declared.length} random/tls resources declared`);
    });

    it("keep secret exactly what the installed SDKs mark secret (write-only inputs aside)", () => {
        for (const t of STANDINS.flatMap((s) => s.types)) {
            const m = /additionalSecretOutputs: \[([^\]]*)\]/.exec(fs.readFileSync(sdkFile(t.token), "utf8"));
            const sdk = (m ? (JSON.parse(`[${m[1]}]`) as string[]) : []).filter((k) => !k.endsWith("Wo")).sort();
            assert.deepStrictEqual([...t.secretOutputs].sort(), sdk, t.token);
        }
    });

    it("run at the versions package.json pins, which the SDKs ask the engine for (tools/pulumi/versions.env)", () => {
        const env = fs.readFileSync(path.join(ROOT, "tools", "pulumi", "versions.env"), "utf8");
        const pinned = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).dependencies as Record<string, string>;
        for (const [pkg, key] of [
            ["random", "RANDOM_VERSION"],
            ["tls", "TLS_VERSION"],
        ]) {
            const sdk = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "@pulumi", pkg, "package.json"), "utf8")).pulumi.version;
            assert.strictEqual(new RegExp(`^${key}=(.*)$`, "m").exec(env)?.[1], pinned[`@pulumi/${pkg}`], key);
            assert.strictEqual(sdk, pinned[`@pulumi/${pkg}`], `@pulumi/${pkg}'s plugin version`);
        }
    });
});
