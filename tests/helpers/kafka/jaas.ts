// JAAS text of the rendered Kafka: the clients' sasl.jaas.config line with another user or password, and the
// broker's JAAS file parsed or with one more PLAIN user.


// ---------------------------------------------------------------------------------------------------
// Small helpers for the specs

/** The sasl.jaas.config line with another password (same user, same module). */
export function withPassword(jaas: string, password: string): string {
    const out = jaas.replace(/password="(?:[^"\\]|\\.)*"/, `password="${password}"`);
    if (out === jaas) throw new Error("no password=\"...\" in the rendered sasl.jaas.config");
    return out;
}

/** The sasl.jaas.config line with another user name. */
export function withUsername(jaas: string, user: string): string {
    const out = jaas.replace(/username="(?:[^"\\]|\\.)*"/, `username="${user}"`);
    if (out === jaas) throw new Error("no username=\"...\" in the rendered sasl.jaas.config");
    return out;
}

/**
 * The broker JAAS file with one more PLAIN user (`user_<name>="<password>"`): a change of Secret kafka-jaas
 * the way the program would render it, for rolling-update simulations.
 */
export function withJaasUser(jaas: string, user: string, password: string): string {
    const m = /;\s*\n\};\s*$/.exec(jaas);
    if (!m) throw new Error("the rendered JAAS file does not end its KafkaServer section with ';' and '};'");
    return `${jaas.slice(0, m.index)}\n    user_${user}="${password}";\n};\n`;
}

/** The broker JAAS file's login (username/password) and every PLAIN user it accepts (`user_<name>`), in order. */
export function parseBrokerJaas(jaas: string): { login: string; password: string; users: { name: string; password: string }[] } {
    const unq = (s: string) => s.replace(/\\(.)/g, "$1");
    const login = /^\s*username="((?:[^"\\]|\\.)*)"$/m.exec(jaas);
    const password = /^\s*password="((?:[^"\\]|\\.)*)"$/m.exec(jaas);
    if (!login || !password) throw new Error("the rendered JAAS file has no username/password lines");
    const users = [...jaas.matchAll(/^\s*user_([^=\s]+)="((?:[^"\\]|\\.)*)";?$/gm)].map((m) => ({ name: m[1], password: unq(m[2]) }));
    return { login: unq(login[1]), password: unq(password[1]), users };
}
