// The random stand-in (tools/pulumi/standins/random.ts) against what pulumi-random / terraform-provider-random
// document for RandomPassword and RandomId: inputs and defaults, validation, which changes replace (keepers
// included), the outputs and which of them are secret.

import * as assert from "assert";
import { DEFAULT_SPECIAL, RANDOM_TYPES } from "../../tools/pulumi/standins/random";
import { UNKNOWN } from "../../tools/pulumi/standins/provider";
import { Driver, plain, secretKeysOf } from "./helpers";

const PASSWORD = "random:index/randomPassword:RandomPassword";
const ID = "random:index/randomId:RandomId";
/** What components/secrets.ts asks for. */
const PROGRAM_PASSWORD = { length: 32, special: false, minLower: 1, minUpper: 1, minNumeric: 1 };

const escape = (s: string) => s.replace(/[-\\^$*+?.()|[\]{}]/g, "\\$&");

describe("random stand-in: RandomPassword", () => {
    const d = new Driver("4.21.2", RANDOM_TYPES);

    it("reports the version it was started as (what the engine asked for)", () => {
        assert.strictEqual(d.provider.version, "4.21.2");
    });

    it("makes the program's password: 32 characters of [A-Za-z0-9] with at least one of each class; result secret, id none", async () => {
        for (let i = 0; i < 20; i++) {
            const { id, outs } = await d.create(PASSWORD, PROGRAM_PASSWORD);
            const result = plain(outs, "result") as string;
            assert.match(result, /^[A-Za-z0-9]{32}$/);
            assert.match(result, /[a-z]/);
            assert.match(result, /[A-Z]/);
            assert.match(result, /[0-9]/);
            assert.strictEqual(id, "none");
            assert.deepStrictEqual(secretKeysOf(outs), ["result"]);
        }
    });

    it("defaults: special, upper, lower and numeric true, the minimums 0; specials are !@#$%&*()-_=+[]{}<>:?", async () => {
        const { outs } = await d.create(PASSWORD, { length: 400 });
        for (const k of ["special", "upper", "lower", "numeric", "number"]) assert.strictEqual(outs[k], true, k);
        for (const k of ["minUpper", "minLower", "minNumeric", "minSpecial"]) assert.strictEqual(outs[k], 0, k);
        const result = plain(outs, "result") as string;
        assert.match(result, new RegExp(`^[A-Za-z0-9${escape(DEFAULT_SPECIAL)}]{400}$`));
        assert.match(result, new RegExp(`[${escape(DEFAULT_SPECIAL)}]`), "400 characters and not one special");
    });

    it("overrideSpecial replaces the special characters; the minimums are honoured", async () => {
        const { outs } = await d.create(PASSWORD, { length: 40, overrideSpecial: "_~", minSpecial: 10, upper: false, lower: false });
        const result = plain(outs, "result") as string;
        assert.match(result, /^[0-9_~]{40}$/);
        assert.ok((result.match(/[_~]/g) ?? []).length >= 10, result);
    });

    it("numeric follows the deprecated number when only that is set", async () => {
        const { outs } = await d.create(PASSWORD, { length: 64, number: false, special: false });
        assert.strictEqual(outs.numeric, false);
        assert.match(plain(outs, "result") as string, /^[A-Za-z]{64}$/);
    });

    it("refuses bad inputs, naming the property and the value", async () => {
        assert.match((await d.failures(PASSWORD, {})).join(), /length: length is required/);
        assert.match((await d.failures(PASSWORD, { length: 0 })).join(), /length: 0 is less than 1/);
        assert.match((await d.failures(PASSWORD, { length: 2.5 })).join(), /length: 2\.5 is not a whole number/);
        assert.match((await d.failures(PASSWORD, { length: 3, minUpper: 2, minNumeric: 2 })).join(), /length \(3\) must be >= minUpper \+ minLower \+ minNumeric \+ minSpecial \(4\)/);
        assert.match((await d.failures(PASSWORD, { length: 8, number: true, numeric: false })).join(), /number and numeric are both set/);
        assert.match((await d.failures(PASSWORD, { length: 8, keepers: { a: 1 } })).join(), /keepers\.a: 1 is not a string/);
        assert.match((await d.failures(PASSWORD, { length: 8, wordCount: 3 })).join(), /wordCount is not implemented by this test stand-in/);
        // A value not known yet (preview) is checked once known.
        assert.deepStrictEqual(await d.failures(PASSWORD, { length: UNKNOWN, minUpper: 4 }), []);
    });

    it("every input change replaces; the same inputs change nothing", async () => {
        const { outs } = await d.create(PASSWORD, PROGRAM_PASSWORD);
        assert.deepStrictEqual(await d.diff(PASSWORD, outs, PROGRAM_PASSWORD), { changes: false, replaces: [] });
        // Defaults written out make no difference either.
        assert.deepStrictEqual(await d.diff(PASSWORD, outs, { ...PROGRAM_PASSWORD, upper: true, minSpecial: 0 }), { changes: false, replaces: [] });
        const cases: [Record<string, unknown>, string][] = [
            [{ length: 33 }, "length"],
            [{ special: true }, "special"],
            [{ upper: false }, "upper"],
            [{ lower: false }, "lower"],
            [{ numeric: false }, "numeric"],
            [{ minLower: 2 }, "minLower"],
            [{ minUpper: 2 }, "minUpper"],
            [{ minNumeric: 2 }, "minNumeric"],
            [{ minSpecial: 1 }, "minSpecial"],
            [{ overrideSpecial: "_" }, "overrideSpecial"],
            [{ length: UNKNOWN }, "length"],
        ];
        for (const [change, key] of cases) {
            const r = await d.diff(PASSWORD, outs, { ...PROGRAM_PASSWORD, ...change });
            assert.strictEqual(r.changes, true, key);
            assert.ok(r.replaces.includes(key), `${key}: ${JSON.stringify(r.replaces)}`);
        }
    });

    it("keepers: a changed, added or removed value replaces; keys with null values and overrideSpecial '' -> unset do not", async () => {
        const { outs } = await d.create(PASSWORD, { ...PROGRAM_PASSWORD, keepers: { image: "a" } });
        assert.deepStrictEqual((await d.diff(PASSWORD, outs, { ...PROGRAM_PASSWORD, keepers: { image: "b" } })).replaces, ["keepers"]);
        assert.deepStrictEqual((await d.diff(PASSWORD, outs, { ...PROGRAM_PASSWORD, keepers: { image: "a", zone: "x" } })).replaces, ["keepers"]);
        assert.deepStrictEqual((await d.diff(PASSWORD, outs, { ...PROGRAM_PASSWORD, keepers: {} })).replaces, ["keepers"]);
        assert.deepStrictEqual((await d.diff(PASSWORD, outs, { ...PROGRAM_PASSWORD })).replaces, ["keepers"]);
        assert.deepStrictEqual((await d.diff(PASSWORD, outs, { ...PROGRAM_PASSWORD, keepers: { image: UNKNOWN } })).replaces, ["keepers"]);
        // A null value for a key the state never had is no change to the real provider's rule.
        const none = (await d.create(PASSWORD, PROGRAM_PASSWORD)).outs;
        assert.deepStrictEqual((await d.diff(PASSWORD, none, { ...PROGRAM_PASSWORD, keepers: { later: null } })).replaces, []);
        const empty = (await d.create(PASSWORD, { ...PROGRAM_PASSWORD, overrideSpecial: "" })).outs;
        assert.deepStrictEqual((await d.diff(PASSWORD, empty, PROGRAM_PASSWORD)).replaces, []);
    });

    it("an update (nothing to replace) keeps the password", async () => {
        const { outs } = await d.create(PASSWORD, PROGRAM_PASSWORD);
        const after = await d.update(PASSWORD, outs, { ...PROGRAM_PASSWORD, keepers: { later: null } });
        assert.strictEqual(plain(after, "result"), plain(outs, "result"));
        assert.deepStrictEqual(secretKeysOf(after), ["result"]);
    });
});

describe("random stand-in: RandomId", () => {
    const d = new Driver("4.21.2", RANDOM_TYPES);

    it("the program's cluster id: 16 random bytes, b64Url/b64Std/hex/dec of the same bytes, id = b64Url; nothing secret", async () => {
        const { id, outs } = await d.create(ID, { byteLength: 16 });
        const bytes = Buffer.from(plain(outs, "b64Url") as string, "base64url");
        assert.strictEqual(bytes.length, 16);
        assert.match(outs.b64Url as string, /^[A-Za-z0-9_-]{22}$/, "URL-safe base64 without padding (what kafka-storage.sh random-uuid prints)");
        assert.strictEqual(outs.b64Std, bytes.toString("base64"));
        assert.strictEqual(outs.hex, bytes.toString("hex"));
        assert.strictEqual(outs.dec, BigInt(`0x${bytes.toString("hex")}`).toString());
        assert.strictEqual(id, outs.b64Url);
        assert.deepStrictEqual(secretKeysOf(outs), []);
        assert.notStrictEqual((await d.create(ID, { byteLength: 16 })).outs.b64Url, outs.b64Url);
    });

    it("prefix goes in front of every form but the id", async () => {
        const { id, outs } = await d.create(ID, { byteLength: 4, prefix: "p-" });
        for (const k of ["b64Url", "b64Std", "hex", "dec"]) assert.ok((outs[k] as string).startsWith("p-"), k);
        assert.strictEqual(`p-${id}`, outs.b64Url);
    });

    it("byteLength, prefix and keepers replace; byteLength below 1 is refused", async () => {
        const { outs } = await d.create(ID, { byteLength: 16 });
        assert.deepStrictEqual(await d.diff(ID, outs, { byteLength: 16 }), { changes: false, replaces: [] });
        assert.deepStrictEqual((await d.diff(ID, outs, { byteLength: 8 })).replaces, ["byteLength"]);
        assert.deepStrictEqual((await d.diff(ID, outs, { byteLength: 16, prefix: "x" })).replaces, ["prefix"]);
        assert.deepStrictEqual((await d.diff(ID, outs, { byteLength: 16, keepers: { a: "1" } })).replaces, ["keepers"]);
        assert.match((await d.failures(ID, { byteLength: 0 })).join(), /byteLength: 0 is less than 1/);
    });

    it("a resource type it does not implement is refused by name", async () => {
        assert.match((await d.failures("random:index/randomPet:RandomPet", {})).join(), /random:index\/randomPet:RandomPet is not implemented by this test stand-in/);
    });
});
