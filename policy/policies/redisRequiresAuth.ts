import type { StackValidationPolicy } from "@pulumi/policy";
import { describeContainer, message } from "./k8s";
import { plain, programName, readRedisCli, readRedisServer, serversOf, withUnknowns } from "../reading";
import { answersFor, cannotVerify, readWholeStack, runs, unknownReasons } from "./verdicts";

const FIX_AUTH =
    "give the default user a password: --requirepass $(REDIS_PASSWORD) from a secretKeyRef, or a redis.conf in a ConfigMap with requirepass or aclfile (the ACL file in a Secret, defining the default user with a password or off), and no user with nopass";

/**
 * Redis never accepts clients without a password. Every container's start-up is read once (reading/startup.ts):
 * its command line as the runtime builds it, the image's entrypoint where the pack knows the image, shell
 * scripts command by command, the files it sees and writes. Every redis-server (also Valkey, KeyDB, Sentinel)
 * it starts is judged on its configuration as redis-server builds it (reading/redis.ts): config file, stdin,
 * includes, command-line options, requirepass, user directives, aclfile. A server that lets a client in without
 * a password is a violation stating why; one that refuses to start is not. A redis-cli call that removes the
 * password at runtime (CONFIG SET requirepass "", ACL SETUSER … nopass) is a violation too. In a data
 * namespace, what the pack cannot follow (an unknown program, a config it cannot see, a value it cannot
 * expand) is reported as "cannot verify", with how to make it verifiable.
 */
export const redisRequiresAuth: StackValidationPolicy = {
    name: "redis-requires-auth",
    description: "Redis servers require authentication through requirepass or an ACL file (arguments or a mounted ConfigMap).",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) =>
        withUnknowns((unknowns) => {
            const stack = readWholeStack(args.resources, unknowns);
            for (const [w, pod] of stack.pods) {
                if (!runs(w)) {
                    continue;
                }
                for (const c of pod.containers) {
                    unknowns.run(() => {
                        const problems: string[] = [];
                        const unverifiable: string[] = [];
                        for (const p of serversOf(c, "redis")) {
                            const v = readRedisServer(p);
                            if (v.refuses) {
                                continue;
                            }
                            const where = `${programName(plain(p.argv[0]))}${v.sentinel ? " (Sentinel)" : ""}${p.via === "command" ? "" : ` started by ${p.via}`}${p.maybe ? " (on some paths of the start-up)" : ""}`;
                            problems.push(...v.problems.map((x) => `${where}: ${x}`));
                            unverifiable.push(...v.unknowns.map((x) => `${where}: ${x}`));
                        }
                        for (const p of c.run.procs) {
                            if (!["redis-cli", "valkey-cli", "keydb-cli"].includes(programName(plain(p.argv[0] ?? "")))) {
                                continue;
                            }
                            const r = readRedisCli(p.argv, p.stdin);
                            if (r.problem) {
                                problems.push(`${p.via} runs redis-cli ${r.problem}`);
                            } else if (r.unknown && answersFor("redis", c, w.namespace, stack)) {
                                unverifiable.push(`${p.via}: ${r.unknown}`);
                            }
                        }
                        if (answersFor("redis", c, w.namespace, stack)) {
                            unverifiable.push(...unknownReasons(c));
                        }
                        if (problems.length > 0) {
                            reportViolation(message(`${describeContainer(c.ref)} runs Redis that lets clients in without a password`, Array.from(new Set(problems)), [FIX_AUTH]), w.resource.urn);
                        }
                        if (unverifiable.length > 0) {
                            reportViolation(cannotVerify(c.ref, "Redis requires a password", unverifiable, "redis"), w.resource.urn);
                        }
                    });
                }
            }
        }),
};
