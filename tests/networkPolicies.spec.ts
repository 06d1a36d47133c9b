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

    it("egress to DNS: kube-system's pods by default; networkPolicies.dns names another namespace and resolvers outside the pod network", () => {
        const traffic = { namespace: "cache", podSelector: selectorLabels("redis"), clientPorts: [6379], peerPorts: [6379] };
        const dnsRule = (settings: Parameters<typeof buildNetworkPolicies>[1]): Any => {
            const egress = buildNetworkPolicies(traffic, settings, {}).find((p) => p.metadata.name === "restrict-egress");
            return (egress!.spec as Any).egress.find((e: Any) => e.ports.some((p: Any) => p.port === 53));
        };
        const base = { enabled: true, egress: true, allowedNamespaces: ["a"] };
        assert.deepStrictEqual(dnsRule(base).to, [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }]);
        assert.deepStrictEqual(dnsRule({ ...base, dns: { namespace: "dns", cidrs: ["169.254.20.10/32", "fd00::a/128"] } }).to, [
            { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "dns" } } },
            { ipBlock: { cidr: "169.254.20.10/32" } },
            { ipBlock: { cidr: "fd00::a/128" } },
        ]);
        assert.deepStrictEqual(dnsRule(base).ports, [
            { protocol: "UDP", port: 53 },
            { protocol: "TCP", port: 53 },
        ]);
    });
});
