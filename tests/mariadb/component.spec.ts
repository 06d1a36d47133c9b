// The MariaDb ComponentResource (components/mariadb/index.ts) instantiated alone under the Pulumi mock runtime.

import * as assert from "assert";
import { MariaDb, planMariaDb } from "../../components/mariadb";
import { RenderResult } from "../../scripts/lib/mockRuntime";
import { Any, containers, find } from "../../scripts/lib/manifests";
import { childrenOf, context, defaults, platform, renderComponent } from "../helpers/component";

describe("MariaDb component", () => {
    let r: RenderResult;
    before(async () => {
        const settings = {
            ...defaults.mariadb,
            namespace: "sql",
            databases: [
                { name: "shop", user: "shop_app" },
                { name: "billing", user: "billing" },
            ],
        };
        r = await renderComponent(() => new MariaDb("maria", { settings, plan: planMariaDb(settings, context), platform }));
    });

    it("parents every child to the component, named `${name}-child`", () => {
        const children = childrenOf(r, "msa-infra:index:MariaDb", "maria");
        assert.ok(children.length >= 12);
        for (const c of children) {
            assert.match(c.name, /^maria-/);
        }
        assert.strictEqual(children.length, r.resources.filter((x) => x.custom).length);
    });

    it("generates one root password, the reconcile Job's and one per application user, each user's in its own Secret", () => {
        const passwords = r.resources.filter((x) => x.type === "random:index/randomPassword:RandomPassword").map((x) => x.name);
        assert.deepStrictEqual(passwords.sort(), ["maria-reconcile-password", "maria-root-password", "maria-user-billing-password", "maria-user-shop_app-password"]);
        const secret = find(r.objects, "Secret", "sql", "mariadb-user-shop-app") as Any;
        assert.deepStrictEqual(Object.keys(secret.stringData).sort(), ["database", "jdbc-url", "password", "username"]);
        assert.strictEqual(secret.stringData.password, "<redacted>");
    });

    it("uses the namespace, storage class and resources it was given", () => {
        const sts = find(r.objects, "StatefulSet", "sql", "mariadb") as Any;
        assert.strictEqual(sts.spec.volumeClaimTemplates[0].spec.storageClassName, "fast");
        assert.deepStrictEqual(containers(sts).find((c: Any) => c.name === "mariadb").resources, {
            requests: defaults.mariadb.resources.requests,
            limits: defaults.mariadb.resources.limits,
        });
        assert.ok(r.objects.some((o) => o.kind === "NetworkPolicy" && o.metadata.name === "allow-clients"));
    });
});
