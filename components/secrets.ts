// Generated credentials: created once, kept (encrypted) in the stack state, never regenerated implicitly.

import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { sha256 } from "./hash";

/** Password length: 32 characters from [A-Za-z0-9] is ~190 bits, and needs no quoting in SQL, ACL or JAAS text. */
export const PASSWORD_LENGTH = 32;

/**
 * A generated password. It has no keepers, so no config change regenerates it; rotate it on purpose with
 * `pulumi up --replace <urn>`. `protect` stops `pulumi destroy` from dropping credentials the data depends on.
 */
export function generatedPassword(name: string, parent: pulumi.Resource, protect: boolean): random.RandomPassword {
    return new random.RandomPassword(
        name,
        { length: PASSWORD_LENGTH, special: false, minLower: 1, minUpper: 1, minNumeric: 1 },
        { parent, protect },
    );
}

/** The password as a Pulumi secret (the engine marks `result` secret, but only when it runs: be explicit). */
export function secretValue(password: random.RandomPassword): pulumi.Output<string> {
    return pulumi.secret(password.result);
}

/**
 * A checksum of secret content, safe to show in a pod annotation (a hash of 190-bit random values reveals
 * nothing); it changes when the content changes, so the pods roll and pick up new credentials.
 */
export function contentChecksum(content: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.unsecret(pulumi.output(content).apply(sha256));
}

/** Generated passwords by user name, as one secret output (for stack outputs). */
export function secretMap(passwords: Record<string, random.RandomPassword>): pulumi.Output<Record<string, string>> {
    const entries = Object.entries(passwords).map(([user, pw]) => pw.result.apply((p) => [user, p] as const));
    return pulumi.secret(pulumi.all(entries).apply((list) => Object.fromEntries(list)));
}
