// The shared reading module: images, networks, quantities and unknown values (policy/reading/images.ts,
// network.ts, quantities.ts, unknowns.ts).

import * as assert from "assert";
import { admitsInternet, ipBlockRanges, matchForbiddenThroughMirrors, openSource, parseCidr, parseImageRef, parseMirrorRules, parseQuantity, selectorMatches, selectsAlmostEverything, UnknownTracker, withUnknowns } from "../../policy/reading";
import { UNKNOWN_STRING } from "./helpers";

describe("reading: images", () => {
    it("matches forbidden patterns through mirrors, without flagging mirrors of allowed images", () => {
        const m = (image: string, mirrors: string[] = []) => matchForbiddenThroughMirrors(parseImageRef(image)!, ["bitnami/*"], parseMirrorRules(mirrors))?.pattern;
        assert.strictEqual(m("mirror.gcr.io/bitnami/redis:7"), "bitnami/*");
        assert.strictEqual(m("index.docker.io:443/bitnami/redis:7"), "bitnami/*");
        assert.strictEqual(m("proxy.corp/cache/docker.io/bitnami/redis@sha256:" + "a".repeat(64)), "bitnami/*");
        assert.strictEqual(m("mirror.gcr.io/library/redis:7"), undefined);
        assert.strictEqual(m("quay.io/bitnami/redis:7"), undefined);
    });
});

describe("reading: CIDRs and selectors", () => {
    it("parses IPv4, IPv6, IPv4-embedded IPv6 and CIDRs with host bits", () => {
        assert.deepStrictEqual(parseCidr("10.1.2.3/8"), { v6: false, start: 10n << 24n, end: (11n << 24n) - 1n });
        assert.strictEqual(parseCidr("::ffff:1.2.3.4/128")?.start, (0xffffn << 32n) | 0x01020304n);
        assert.strictEqual(parseCidr("256.0.0.0/8"), undefined);
        assert.strictEqual(parseCidr("1.2.3.4"), undefined);
        assert.strictEqual(parseCidr("::/129"), undefined);
    });

    it("decides whether an ipBlock admits the internet by the addresses it covers", () => {
        const open = (cidr: string, except: string[] = []) => admitsInternet(ipBlockRanges({ cidr, except })!);
        assert.ok(open("0.0.0.0/0", ["10.0.0.0/8"]));
        assert.ok(open("1.0.0.0/8"));
        assert.ok(!open("1.0.0.0/9"));
        assert.ok(!open("0.0.0.0/0", ["0.0.0.0/1", "128.0.0.0/1"]));
        assert.ok(!open("10.0.0.0/8"));
        assert.ok(!open("100.64.0.0/10"));
        assert.ok(open("::ffff:0.0.0.0/96"));
        assert.ok(open("2000::/3"));
        assert.ok(!open("fe80::/10"));
        assert.ok(open("2400::/12"));
        assert.ok(!open("2400::/17"), "less than a /16 of public IPv6");
        assert.ok(!open("2001:db8::/32"), "documentation range");
    });

    it("selects by meaning", () => {
        assert.ok(selectorMatches({ matchLabels: { a: "1" }, matchExpressions: [{ key: "b", operator: "NotIn", values: ["x"] }, { key: "c", operator: "DoesNotExist" }] }, { a: "1", b: "y" }));
        assert.ok(!selectorMatches({ matchExpressions: [{ key: "a", operator: "In", values: ["2"] }] }, { a: "1" }));
        assert.ok(!selectorMatches({ matchExpressions: [{ key: "a", operator: "Bogus" }] }, { a: "1" }));
        assert.ok(selectsAlmostEverything({}));
        assert.ok(selectsAlmostEverything({ matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "Exists" }] }, ["kubernetes.io/metadata.name"]));
        assert.ok(!selectsAlmostEverything({ matchExpressions: [{ key: "team", operator: "Exists" }] }, ["kubernetes.io/metadata.name"]));
        assert.strictEqual(openSource({ from: [{ podSelector: {} }] }), undefined, "podSelector alone stays in the policy's namespace");
        assert.match(openSource({ from: [{ namespaceSelector: {} }] })!, /every pod of every namespace/);
    });
});

describe("reading: quantities", () => {
    it("parses Kubernetes quantities", () => {
        assert.deepStrictEqual(["0", "0m", "500m", "1Gi", "1e3", ".5", 2, "1.5Ki", "x", ""].map(parseQuantity), [0, 0, 0.5, 2 ** 30, 1000, 0.5, 2, 1536, undefined, undefined]);
    });
});

describe("reading: unknown values", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { unknownCheckingProxy } = require("@pulumi/policy/proxy") as { unknownCheckingProxy<T>(o: T): T };

    it("skips only the checks that read an unknown, then rethrows the first unknown", () => {
        const props = unknownCheckingProxy({ a: UNKNOWN_STRING, b: "ok" });
        const seen: string[] = [];
        assert.throws(
            () =>
                withUnknowns((u) => {
                    u.run(() => seen.push(props.a));
                    u.run(() => seen.push(props.b));
                    assert.strictEqual(u.read(() => props.a, "fallback"), "fallback");
                }),
            /string value at \.a can't be known during preview/,
        );
        assert.deepStrictEqual(seen, ["ok"]);
    });

    it("lets other errors through", () => {
        const u = new UnknownTracker();
        assert.throws(() => u.run(() => { throw new TypeError("boom"); }), TypeError);
        assert.strictEqual(u.sawUnknown, false);
        u.finish();
    });
});
