// Hashing of rendered text: pure, so plans and file builders can use it without loading the Pulumi SDK.

import * as crypto from "crypto";

/** Hex SHA-256, used for Redis ACL password hashes, pod-template checksums and Job names. */
export function sha256(text: string): string {
    return crypto.createHash("sha256").update(text).digest("hex");
}
