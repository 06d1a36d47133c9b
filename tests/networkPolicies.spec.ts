// NetworkPolicy rules (components/networkPolicies.ts).

import * as assert from "assert";
import { selectorLabels } from "../components/labels";
import { buildNetworkPolicies } from "../components/networkPolicies";
import { Any } from "../scripts/lib/manifests";

describe("pure helpers", () => {
    it("network policies: none when disabled; selector and egress rules when asked", () => {
        const traffic = { namespace: "db", podSelector: selectorLabels("mariadb"), clientPorts: [3306], peerPorts: [] };
        const off = { enabled: false, egress: false, allowedNamespaces: ["a"] };
        assert.deepStrictEqual(buildNetworkPolicies(traffic, off, {}), []);
        const on = buildNetworkPolicies(traffic, { enabled: true, egress: true, allowedNamespaces: ["a"], allowedNamespaceSelector: { team: "shop" } }, {});
        assert.deepStrictEqual(on.map((p) => p.metadata.name), ["default-deny-ingress", "allow-clients", "restrict-egress"]);
        const from = (on[1].spec as Any).ingress[0].from;
        assert.deepStrictEqual(from, [
            { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "a" } } },
            { namespaceSelector: { matchLabels: { team: "shop" } } },
        ]);
    });
});
