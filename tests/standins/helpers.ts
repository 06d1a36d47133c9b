// Driving a stand-in provider (tools/pulumi/standins) the way the engine does, without the engine: Check,
// then Create / Diff / Update / Read on what Check returned, with a clock the test moves.

import * as assert from "assert";
import type * as pulumiProvider from "@pulumi/pulumi/provider";
import { isSecret, reveal, standInProvider, type Props, type ResourceType } from "../../tools/pulumi/standins/provider";

export class Driver {
    now = new Date("2026-03-01T12:00:00Z");
    readonly provider: pulumiProvider.Provider;

    constructor(version: string, types: readonly ResourceType[]) {
        this.provider = standInProvider(version, types, { now: () => this.now });
    }

    urn(token: string, name = "r"): string {
        return `urn:pulumi:dev::msa-infra::msa-infra:index:Parent$${token}::${name}`;
    }

    /** Check's failures for these inputs. */
    async failures(token: string, inputs: Props): Promise<string[]> {
        const r = await this.provider.check!(this.urn(token), {}, inputs);
        return (r.failures ?? []).map((f) => `${f.property}: ${f.reason}`);
    }

    /** Check (must pass) then Create: the id and the outputs as the engine stores them (secrets marked). */
    async create(token: string, inputs: Props): Promise<{ id: string; outs: Props }> {
        const checked = await this.provider.check!(this.urn(token), {}, inputs);
        assert.deepStrictEqual(checked.failures ?? [], [], `check refused ${JSON.stringify(inputs)}`);
        const r = await this.provider.create!(this.urn(token), checked.inputs);
        return { id: r.id, outs: r.outs as Props };
    }

    /** Diff of the state `olds` against new inputs (checked first). */
    async diff(token: string, olds: Props, inputs: Props): Promise<{ changes: boolean; replaces: string[] }> {
        const checked = await this.provider.check!(this.urn(token), olds, inputs);
        assert.deepStrictEqual(checked.failures ?? [], []);
        const r = await this.provider.diff!("id", this.urn(token), olds, checked.inputs);
        return { changes: r.changes === true, replaces: [...(r.replaces ?? [])] };
    }

    async update(token: string, olds: Props, inputs: Props): Promise<Props> {
        const r = await this.provider.update!("id", this.urn(token), olds, inputs);
        return r.outs as Props;
    }

    async read(token: string, state: Props): Promise<Props> {
        const r = await this.provider.read!("id", this.urn(token), state);
        return r.props as Props;
    }
}

/** The plain value of an output (secret marker removed). */
export const plain = (outs: Props, key: string): unknown => reveal(outs[key]);

/** The outputs that are marked secret. */
export const secretKeysOf = (outs: Props): string[] =>
    Object.entries(outs)
        .filter(([, v]) => isSecret(v))
        .map(([k]) => k)
        .sort();
