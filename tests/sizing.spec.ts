// Sizing derived from the render: what each stack's long-running pods request and may use, summed over every
// pod of every StatefulSet (sidecars and exporters included; a pod's init containers count as Kubernetes
// counts them: the larger of their maximum and the containers' sum). The sizing table of docs/operations/scale.md is checked
// against it, so the table cannot drift; the MariaDB buffer pool is checked per pod.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { BUFFER_POOL_PERCENT } from "../components/mariadb";
import { cpuToMillis, quantityToBytes } from "../components/config/units";
import { renderStack, ROOT, type Manifest } from "../scripts/lib/mockRuntime";
import { Any, find, ofKind } from "../scripts/lib/manifests";

interface Row {
    stack: string;
    workload: string;
    pods: number;
    cpuRequests: number;
    cpuLimits: number;
    memRequests: number;
    memLimits: number;
}

type Res = { cpu: number; mem: number };
const zero = (): Res => ({ cpu: 0, mem: 0 });
const of = (r: Any | undefined): Res => ({ cpu: r?.cpu ? cpuToMillis(String(r.cpu)) : 0, mem: r?.memory ? quantityToBytes(String(r.memory)) : 0 });

/** A pod's effective requests and limits: max(largest init container, sum of the containers), per resource. */
function podResources(spec: Any, kind: "requests" | "limits"): Res {
    const sum = (spec.containers as Any[]).reduce((a: Res, c: Any) => {
        const r = of(c.resources?.[kind]);
        return { cpu: a.cpu + r.cpu, mem: a.mem + r.mem };
    }, zero());
    for (const c of (spec.initContainers ?? []) as Any[]) {
        const r = of(c.resources?.[kind]);
        sum.cpu = Math.max(sum.cpu, r.cpu);
        sum.mem = Math.max(sum.mem, r.mem);
    }
    return sum;
}

function sizingRows(stack: string, objects: Manifest[]): Row[] {
    return (ofKind(objects, "StatefulSet") as Any[])
        .map((sts) => {
            const pods = sts.spec.replicas ?? 1;
            const req = podResources(sts.spec.template.spec, "requests");
            const lim = podResources(sts.spec.template.spec, "limits");
            return { stack, workload: `${sts.metadata.namespace}/${sts.metadata.name}`, pods, cpuRequests: req.cpu * pods, cpuLimits: lim.cpu * pods, memRequests: req.mem * pods, memLimits: lim.mem * pods };
        })
        .sort((a, b) => a.workload.localeCompare(b.workload));
}

// Below a core in millicores (850m), from a core on in cores (3.5), as kubectl would accept either.
const cpu = (m: number) => (m < 1000 ? `${m}m` : String(m / 1000));
const mem = (b: number) => (b % 1024 ** 3 === 0 ? `${b / 1024 ** 3}Gi` : `${b / 1024 ** 2}Mi`);

/** The page that holds the sizing table (between <!-- sizing:begin --> and <!-- sizing:end -->). */
const SIZING_PAGE = "docs/operations/scale.md";

/** The sizing table: one line per StatefulSet and stack, and each stack's total. */
function sizingTable(rows: Row[]): string {
    const lines = ["| stack | StatefulSet | pods | CPU requests | CPU limits | memory requests | memory limits |", "|---|---|---|---|---|---|---|"];
    for (const stack of [...new Set(rows.map((r) => r.stack))]) {
        const mine = rows.filter((r) => r.stack === stack);
        for (const r of mine) lines.push(`| ${stack} | ${r.workload} | ${r.pods} | ${cpu(r.cpuRequests)} | ${cpu(r.cpuLimits)} | ${mem(r.memRequests)} | ${mem(r.memLimits)} |`);
        const t = (k: keyof Row) => mine.reduce((a, r) => a + (r[k] as number), 0);
        lines.push(`| ${stack} | **total** | ${t("pods")} | ${cpu(t("cpuRequests"))} | ${cpu(t("cpuLimits"))} | ${mem(t("memRequests"))} | ${mem(t("memLimits"))} |`);
    }
    return lines.join("\n");
}

describe("sizing: totals derived from the render", () => {
    const rendered: Record<string, Manifest[]> = {};
    before(async function () {
        this.timeout(120_000);
        for (const stack of ["dev", "prod"]) rendered[stack] = (await renderStack(stack)).objects;
    });

    it("every MariaDB pod gets the InnoDB buffer pool from its own memory limit (not divided among the pods)", () => {
        for (const stack of ["dev", "prod"]) {
            const sts = find(rendered[stack], "StatefulSet", "db", "mariadb") as Any;
            const server = (sts.spec.template.spec.containers as Any[]).find((c) => c.name === "mariadb");
            const limit = quantityToBytes(server.resources.limits.memory);
            const cnf: string = (find(rendered[stack], "ConfigMap", "db", "mariadb-config") as Any).data["my.cnf"];
            const pool = Number(/^innodb_buffer_pool_size = (\d+)M$/m.exec(cnf)![1]) * 1024 ** 2;
            assert.strictEqual(pool, Math.max(128 * 1024 ** 2, Math.floor((limit * BUFFER_POOL_PERCENT) / 100 / 1024 ** 2) * 1024 ** 2), `${stack}: ${pool} of ${limit}`);
            // What the server may take besides the pool (connections, temp tables) fits the rest of the limit.
            assert.ok(pool <= limit / 2, `${stack}: the pool leaves half the limit`);
        }
    });

    it("the sizing table of docs/operations/scale.md is the render's", function () {
        const table = sizingTable([...sizingRows("dev", rendered.dev), ...sizingRows("prod", rendered.prod)]);
        const page = fs.readFileSync(path.join(ROOT, SIZING_PAGE), "utf8");
        const m = /<!-- sizing:begin -->\n([\s\S]*?)\n<!-- sizing:end -->/.exec(page);
        assert.ok(m, `${SIZING_PAGE} has no <!-- sizing:begin --> ... <!-- sizing:end --> block; the table from this render:\n${table}`);
        assert.strictEqual(m[1].trim(), table, `${SIZING_PAGE}'s sizing table differs from the render; replace it with:\n${table}`);
    });
});
