// Policy container-images: Images are pinned, from allowed registries, never forbidden (also behind a mirror).
// "moved from tests/policy.spec.ts" holds the original assertions unchanged; "one change to the baseline"
// adds cases built from the shared baseline (tests/policy/helpers.ts) with a single change each; the class
// corpus cases are the manifests of tests/fixtures/policy/violating/classes that name this policy.

import * as assert from "assert";
import { parseMirrorRules, upstreamRefs } from "../../policy/reading";
import { matchForbidden, parseImageRef, registryAllowed } from "../../policy/policies/containerImages";
import {
    BASELINE,
    container,
    expectClean,
    expectOnly,
    itCatchesClassCorpus,
    obj,
    ofPolicy,
    run,
    stack,
    withChange,
} from "./helpers";

describe("policy container-images", () => {
    describe("moved from tests/policy.spec.ts", () => {
        it("normalises references like the container runtime", () => {
            assert.deepStrictEqual(parseImageRef("redis:7.2"), { written: "redis", registry: "docker.io", name: "docker.io/library/redis", familiar: "redis", tag: "7.2", digest: undefined });
            assert.strictEqual(parseImageRef("bitnami/redis")?.name, "docker.io/bitnami/redis");
            assert.strictEqual(parseImageRef("bitnami/redis")?.tag, undefined);
            assert.strictEqual(parseImageRef("index.docker.io/library/mariadb:11")?.familiar, "mariadb");
            const local = parseImageRef("localhost:5000/team/app");
            assert.deepStrictEqual([local?.registry, local?.tag], ["localhost:5000", undefined]);
            const pinned = parseImageRef("ghcr.io/acme/app:1.2@sha256:" + "a".repeat(64));
            assert.deepStrictEqual([pinned?.registry, pinned?.tag, pinned?.digest], ["ghcr.io", "1.2", "sha256:" + "a".repeat(64)]);
        });

        it("matches forbidden patterns on the written, normalised and short names", () => {
            const patterns = ["bitnami/*", "docker.io/bitnami/*"];
            for (const image of ["bitnami/redis:7.2", "docker.io/bitnami/kafka:3.7", "registry-1.docker.io/bitnami/mariadb:11"]) {
                assert.ok(matchForbidden(parseImageRef(image)!, patterns), image);
            }
            assert.strictEqual(matchForbidden(parseImageRef("ghcr.io/bitnami/redis:7")!, patterns), undefined);
            assert.strictEqual(matchForbidden(parseImageRef("redis:7.2-alpine")!, patterns), undefined);
            assert.ok(registryAllowed(parseImageRef("redis:7.2-alpine")!, ["docker.io/library"]));
            assert.ok(!registryAllowed(parseImageRef("apache/kafka:3.8.1")!, ["docker.io/library", "ghcr.io"]));
        });

        it("flags an image without a tag and the latest tag", async () => {
            const objs = stack();
            container(obj(objs, "StatefulSet", "mariadb"), "mariadb").image = "mariadb";
            await expectOnly(objs, "container-images", 'image "mariadb" has no tag (pulls latest)');
            const objs2 = stack();
            container(obj(objs2, "StatefulSet", "mariadb"), "mariadb").image = "docker.io/library/mariadb:latest";
            await expectOnly(objs2, "container-images", "uses the latest tag");
        });

        it("accepts a digest without a tag", async () => {
            const objs = stack();
            container(obj(objs, "StatefulSet", "mariadb"), "mariadb").image = "mariadb@sha256:" + "0123456789abcdef".repeat(4);
            await expectClean(objs);
        });

        it("requires digests with requireDigest", async () => {
            const vs = await expectOnly(stack(), "container-images", "is not pinned by digest", { "container-images": { requireDigest: true } });
            assert.ok(!vs.some((v) => v.name === "redis-exporter"), "the exporter is pinned by digest");
        });

        it("restricts registries with allowedRegistries (docker.io normalisation)", async () => {
            await expectClean(stack(), { "container-images": { allowedRegistries: ["docker.io"] } });
            const vs = await expectOnly(stack(), "container-images", "is not from an allowed registry", { "container-images": { allowedRegistries: ["docker.io/library"] } });
            assert.deepStrictEqual(vs.map((v) => v.name).sort(), ["kafka", "redis-exporter"]);
        });

        it("forbids Bitnami images by default and follows forbiddenImages", async () => {
            const objs = stack();
            container(obj(objs, "StatefulSet", "redis")).image = "bitnami/redis:7.2.4-debian-12-r9";
            await expectOnly(objs, "container-images", 'matches forbidden pattern "bitnami/*"');
            const objs2 = stack();
            container(obj(objs2, "StatefulSet", "redis")).image = "bitnami/redis:7.2.4-debian-12-r9";
            await expectClean(objs2, { "container-images": { forbiddenImages: [] } });
            await expectOnly(stack(), "container-images", "redis_exporter", { "container-images": { forbiddenImages: ["*/redis_exporter*"] } });
        });
    });

    describe("one change to the baseline", () => {
        it("sees the upstream image behind registry mirrors and pull-through caches", () => {
            const up = (image: string, mirrors: string[] = []) => upstreamRefs(parseImageRef(image)!, parseMirrorRules(mirrors)).map((r) => r.name);
            assert.deepStrictEqual(up("mirror.gcr.io/bitnami/redis:7.2"), ["docker.io/bitnami/redis"]);
            assert.deepStrictEqual(up("mirror.gcr.io/redis:7.2"), ["docker.io/library/redis"]);
            assert.deepStrictEqual(up("harbor.example.com/dockerhub/bitnami/redis:7"), ["docker.io/bitnami/redis"]);
            assert.deepStrictEqual(up("m.daocloud.io/docker.io/bitnami/redis:7"), ["docker.io/bitnami/redis"]);
            assert.deepStrictEqual(up("harbor.corp/hub-cache/bitnami/redis:7", ["harbor.corp/hub-cache"]), ["docker.io/bitnami/redis"]);
            assert.deepStrictEqual(up("harbor.corp/quay/prometheus/node-exporter:1", ["harbor.corp/quay=quay.io"]), ["quay.io/prometheus/node-exporter"]);
            assert.deepStrictEqual(up("ghcr.io/bitnami/redis:7"), [], "ghcr.io is not a mirror");
            assert.deepStrictEqual(up("harbor.corp/hub-cache/bitnami/redis:7"), [], "an unconfigured private prefix is not a mirror");
            assert.strictEqual(parseImageRef("registry-1.docker.io:443/bitnami/redis:7")?.name, "docker.io/bitnami/redis");
        });

        it("forbids Bitnami images behind a mirror but not a mirror of an allowed image", async () => {
            const set = (image: string) => withChange({ in: BASELINE.StatefulSet, set: { "spec.template.spec.containers.0.image": image } });
            await expectOnly(set("mirror.gcr.io/bitnami/mariadb:10.11"), "container-images", 'is a mirror of docker.io/bitnami/mariadb, which matches forbidden pattern "bitnami/*"');
            await expectClean(set("mirror.gcr.io/library/mariadb:10.11"));
            // Not forbidden; a mirror the pack does not know, so the MariaDB start-up is only unverifiable (no-plaintext-credentials says so).
            assert.deepStrictEqual(ofPolicy(await run(set("harbor.example.com/dockerhub/library/mariadb:10.11")), "container-images"), []);
            assert.deepStrictEqual(ofPolicy(await run(set("harbor.corp/hub-cache/bitnami/mariadb:10.11")), "container-images"), []);
            await expectOnly(set("harbor.corp/hub-cache/bitnami/mariadb:10.11"), "container-images", "forbidden pattern", { "container-images": { registryMirrors: ["harbor.corp/hub-cache"] } });
        });

        it("forbids bitnamilegacy and Bitnami's public ECR copy by default", async () => {
            for (const image of ["bitnamilegacy/mariadb:10.11.8", "public.ecr.aws/bitnami/mariadb:10.11"]) {
                await expectOnly(withChange({ in: BASELINE.StatefulSet, set: { "spec.template.spec.containers.0.image": image } }), "container-images", "matches forbidden pattern");
            }
        });

        it("checks image volumes and PodTemplates", async () => {
            await expectOnly(withChange({ in: BASELINE.Pod, set: { "spec.volumes": [{ name: "data", image: { reference: "busybox" } }] } }), "container-images", 'image volume "data": image "busybox" has no tag');
            await expectOnly(withChange({ in: BASELINE.PodTemplate, set: { "template.spec.containers.0.image": "busybox:latest" } }), "container-images", "uses the latest tag");
        });
    });

    describe("class corpus", () => {
        itCatchesClassCorpus("container-images");
    });
});
