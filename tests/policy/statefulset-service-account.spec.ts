// Policy statefulset-service-account: StatefulSets use their own ServiceAccount and get no API token.
// "moved from tests/policy.spec.ts" holds the original assertions unchanged; "one change to the baseline"
// adds cases built from the shared baseline (tests/policy/helpers.ts) with a single change each; the class
// corpus cases are the manifests of tests/fixtures/policy/violating/classes that name this policy.

import * as assert from "assert";
import {
    BASELINE,
    container,
    expectClean,
    expectOnly,
    itCatchesClassCorpus,
    Json,
    obj,
    podSpec,
    stack,
    withChange,
} from "./helpers";

describe("policy statefulset-service-account", () => {
    describe("moved from tests/policy.spec.ts", () => {
        it("accepts the token switched off on the ServiceAccount instead of the pod", async () => {
            const objs = stack();
            delete podSpec(obj(objs, "StatefulSet", "redis")).automountServiceAccountToken;
            await expectClean(objs);
        });

        it("flags the token when neither the pod nor the ServiceAccount turns it off", async () => {
            const objs = stack();
            delete podSpec(obj(objs, "StatefulSet", "redis")).automountServiceAccountToken;
            obj(objs, "ServiceAccount", "redis").automountServiceAccountToken = true;
            await expectOnly(objs, "statefulset-service-account", "neither the pod spec nor ServiceAccount cache/redis sets automountServiceAccountToken: false");
            const objs2 = stack();
            delete podSpec(obj(objs2, "StatefulSet", "redis")).automountServiceAccountToken;
            objs2.splice(objs2.indexOf(obj(objs2, "ServiceAccount", "redis")), 1);
            await expectOnly(objs2, "statefulset-service-account", "ServiceAccount cache/redis is not part of this stack");
        });

        it("flags an explicit true on the pod even if the ServiceAccount says false", async () => {
            const objs = stack();
            podSpec(obj(objs, "StatefulSet", "kafka")).automountServiceAccountToken = true;
            await expectOnly(objs, "statefulset-service-account", "the pod spec sets automountServiceAccountToken: true");
        });

        it("flags the default ServiceAccount", async () => {
            const objs = stack();
            delete podSpec(obj(objs, "StatefulSet", "mariadb")).serviceAccountName;
            const vs = await expectOnly(objs, "statefulset-service-account", 'runs as the "default" ServiceAccount');
            assert.deepStrictEqual([vs[0].kind, vs[0].namespace, vs[0].name], ["StatefulSet", "db", "mariadb"]);
        });
    });

    describe("one change to the baseline", () => {
        it("flags API tokens that arrive other than by automount", async () => {
            const tokenSecret = { apiVersion: "v1", kind: "Secret", metadata: { name: "t", namespace: "db" }, type: "kubernetes.io/service-account-token" };
            const cases: Array<[Json[], string]> = [
                [
                    withChange({
                        in: BASELINE.StatefulSet,
                        edit: (o) => {
                            podSpec(o).volumes.push({ name: "tok", projected: { sources: [{ serviceAccountToken: { path: "token" } }] } });
                            container(o, "mariadb").volumeMounts.push({ name: "tok", mountPath: "/var/run/tok" });
                        },
                    }),
                    'volume "tok" projects a ServiceAccount token (mounted by container "mariadb")',
                ],
                [
                    withChange({
                        in: BASELINE.StatefulSet,
                        add: [tokenSecret],
                        edit: (o) => {
                            podSpec(o).volumes.push({ name: "tok", secret: { secretName: "t" } });
                            container(o, "init-perms").volumeMounts.push({ name: "tok", mountPath: "/var/run/tok" });
                        },
                    }),
                    'volume "tok" mounts ServiceAccount token Secret t (mounted by init container "init-perms")',
                ],
                [withChange({ in: BASELINE.StatefulSet, add: [tokenSecret], edit: (o) => container(o, "mariadb").env.push({ name: "K", valueFrom: { secretKeyRef: { name: "t", key: "token" } } }) }), 'container "mariadb" reads env K from ServiceAccount token Secret t'],
            ];
            for (const [objs, text] of cases) {
                await expectOnly(objs, "statefulset-service-account", text);
            }
        });

        it("ignores an unmounted token volume and a projected volume without a token source", async () => {
            await expectClean(withChange({ in: BASELINE.StatefulSet, edit: (o) => podSpec(o).volumes.push({ name: "tok", projected: { sources: [{ serviceAccountToken: { path: "token" } }] } }) }));
            await expectClean(
                withChange({
                    in: BASELINE.StatefulSet,
                    edit: (o) => {
                        podSpec(o).volumes.push({ name: "info", projected: { sources: [{ downwardAPI: { items: [{ path: "n", fieldRef: { fieldPath: "metadata.name" } }] } }] } });
                        container(o, "mariadb").volumeMounts.push({ name: "info", mountPath: "/etc/info" });
                    },
                }),
            );
        });
    });

    describe("class corpus", () => {
        itCatchesClassCorpus("statefulset-service-account");
    });
});
