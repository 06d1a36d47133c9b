// Stack config that parseStackConfig must refuse: the problems it lists (a ConfigError), or a failed test.

import * as assert from "assert";
import { ConfigError, parseStackConfig } from "../../components/stackConfig";

/** The problems parseStackConfig reports for `raw`; fails the test when it accepts it. */
export function problems(raw: Record<string, unknown>): string[] {
    try {
        parseStackConfig(raw);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
        return (e as ConfigError).problems;
    }
    assert.fail(`expected ${JSON.stringify(raw)} to be rejected`);
}

/** Images naming one release each, as a production stack must (productionRules: a floating tag is refused). */
export const PINNED_IMAGES = { mariadb: "mariadb:10.11.11", redis: "redis:7.2.7-alpine" };
