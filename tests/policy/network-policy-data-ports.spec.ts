// Policy network-policy-data-ports: No NetworkPolicy rule or exposed named Service port opens a data port to all sources.
// "moved from tests/policy.spec.ts" holds the original assertions unchanged; "one change to the baseline"
// adds cases built from the shared baseline (tests/policy/helpers.ts) with a single change each; the class
// corpus cases are the manifests of tests/fixtures/policy/violating/classes that name this policy.

import * as assert from "assert";
import {
    BASELINE,
    expectClean,
    expectOnly,
    itCatchesClassCorpus,
    obj,
    stack,
    withChange,
} from "./helpers";

describe("policy network-policy-data-ports", () => {
    describe("moved from tests/policy.spec.ts", () => {
        it("flags a rule without from on a data port, including named ports", async () => {
            const objs = stack();
            delete obj(objs, "NetworkPolicy", "allow-clients", "db").spec.ingress[0].from;
            const vs = await expectOnly(objs, "network-policy-data-ports", "ingress rule #1 opens data port(s) 3306 to all sources (it has no from, so every source)");
            assert.deepStrictEqual([vs[0].kind, vs[0].namespace, vs[0].name], ["NetworkPolicy", "db", "allow-clients"]);
        });

        it("flags namespaceSelector {} without podSelector and ipBlock ::/0, not a restricted peer", async () => {
            const objs = stack();
            obj(objs, "NetworkPolicy", "allow-clients", "db").spec.ingress[0].from = [{ namespaceSelector: {} }];
            await expectOnly(objs, "network-policy-data-ports", "namespaceSelector {} without a podSelector");
            const objs2 = stack();
            obj(objs2, "NetworkPolicy", "allow-clients", "db").spec.ingress[0].from = [{ namespaceSelector: {}, podSelector: { matchLabels: { role: "client" } } }];
            await expectClean(objs2);
            const objs3 = stack();
            obj(objs3, "NetworkPolicy", "allow-peers", "messaging").spec.ingress[0].from = [{ ipBlock: { cidr: "::/0" } }];
            await expectOnly(objs3, "network-policy-data-ports", "opens data port(s) 9093, 9094 to all sources (ipBlock ::/0)");
        });

        it("resolves port ranges and ignores UDP and non-data ports", async () => {
            const objs = stack();
            const rule = obj(objs, "NetworkPolicy", "allow-clients", "db").spec.ingress[0];
            delete rule.from;
            rule.ports = [{ port: 3300, endPort: 3310 }];
            await expectOnly(objs, "network-policy-data-ports", "opens data port(s) 3306");
            rule.ports = [{ port: 3306, protocol: "UDP" }, { port: 8080 }];
            await expectClean(objs);
            await expectOnly(objs, "network-policy-data-ports", "opens data port(s) 8080", { "network-policy-data-ports": { dataPorts: [8080] } });
        });
    });

    describe("one change to the baseline", () => {
        it("compares CIDRs by the addresses they admit", async () => {
            const rule = (from: unknown[]) => withChange({ in: BASELINE.NetworkPolicy, set: { "spec.ingress.0.from": from } });
            for (const cidr of ["0.0.0.0/1", "::ffff:0:0/96", "10.1.2.3/0", "0::/0", "64:ff9b::/96", "2000::/3"]) {
                await expectOnly(rule([{ ipBlock: { cidr } }]), "network-policy-data-ports", `ipBlock ${cidr}`);
            }
            // Two /9s are narrow on their own and a whole /8 together.
            await expectClean(rule([{ ipBlock: { cidr: "8.0.0.0/9" } }]));
            await expectOnly(rule([{ ipBlock: { cidr: "8.0.0.0/9" } }, { ipBlock: { cidr: "8.128.0.0/9" } }]), "network-policy-data-ports", "ipBlocks 8.0.0.0/9 + 8.128.0.0/9 together");
            for (const cidr of ["203.0.113.0/24", "10.0.0.0/8", "192.168.0.0/16", "fd00::/8", "0.0.0.0/0x"]) {
                await expectClean(rule([{ ipBlock: { cidr } }]));
            }
            await expectClean(rule([{ ipBlock: { cidr: "0.0.0.0/0", except: ["0.0.0.0/1", "128.0.0.0/1"] } }]));
        });

        it("reads selectors by what they select", async () => {
            const rule = (peer: unknown) => withChange({ in: BASELINE.NetworkPolicy, set: { "spec.ingress.0.from": [peer] } });
            const open: unknown[] = [
                { namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "Exists" }] } },
                { namespaceSelector: { matchExpressions: [{ key: "team", operator: "NotIn", values: ["x"] }] } },
                { namespaceSelector: { matchLabels: {} }, podSelector: { matchExpressions: [{ key: "x", operator: "DoesNotExist" }] } },
                {},
            ];
            for (const peer of open) {
                await expectOnly(rule(peer), "network-policy-data-ports", "opens data port(s) 3306 to all sources");
            }
            for (const peer of [{ namespaceSelector: { matchExpressions: [{ key: "team", operator: "Exists" }] } }, { podSelector: {} }, { namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["a"] }] } }]) {
                await expectClean(rule(peer));
            }
        });

        it("resolves named ports through the pods the policy selects", async () => {
            // Port "client" exists only on the Kafka pods: a policy selecting the MariaDB pods does not open it.
            const objs = withChange({ in: BASELINE.NetworkPolicy, edit: (o) => (o.spec.ingress[0] = { ports: [{ port: "client" }] }) });
            await expectClean(objs);
        });

        it("flags an exposed Service whose named targetPort resolves to a data port of the selected pods", async () => {
            const objs = withChange({ in: BASELINE.Service, set: { "spec.type": "LoadBalancer", "spec.ports": [{ name: "web", port: 80, targetPort: "mysql" }] } });
            const vs = await expectOnly(objs, "network-policy-data-ports", 'port 80 (targetPort "mysql") reaches data port(s) 3306 of the selected pods and is exposed by type LoadBalancer');
            assert.deepStrictEqual([vs[0].kind, vs[0].namespace, vs[0].name], ["Service", "db", "mariadb"]);
            await expectClean(withChange({ in: BASELINE.Service, set: { "spec.ports": [{ name: "web", port: 80, targetPort: "mysql" }] } }));
        });
    });

    describe("class corpus", () => {
        itCatchesClassCorpus("network-policy-data-ports");
    });
});
