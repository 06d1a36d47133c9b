// Symbolic text: a string in which parts the pack cannot know, and parts that come from a Secret, are marked
// with private-use characters, so that every reader (shell, config files, credentials) can tell a literal
// from a secret and a known value from an unknown one without a second data structure.
//
// - ANY    an unknown piece of text, any characters (command output, a value from outside the stack);
// - WORD   an unknown piece without blanks, quotes, `=`, `:` or `/`, not starting with `-` (a pod name, an
//          IP address, a hostname: what the runtime fills in);
// - DIGITS an unknown, non-empty run of digits (a pod ordinal, arithmetic);
// - FIELDS an unknown number of unknown words: only ever a command-line element of its own (an unquoted
//          unknown expansion or a glob, which the shell may split into any number of arguments);
// - SECRET_OPEN … SECRET_CLOSE: text that comes from a Secret (its content may be known or ANY).
// Text that carries no marker is a literal: it is written in the manifests.

export const ANY = "\uE000";
export const WORD = "\uE001";
export const SECRET_OPEN = "\uE002";
export const SECRET_CLOSE = "\uE003";
export const FIELDS = "\uE004";
export const DIGITS = "\uE005";

const UNKNOWN_RE = /[\uE000\uE001\uE004\uE005]/;
const MARKER_RE = /[\uE000-\uE005]/;
const SECRET_RE = /[\uE002\uE003]/g;

/** Text from a Secret (the Secret's content, or ANY when it is not known). */
export function secret(text: string | undefined): string {
    return `${SECRET_OPEN}${text ?? ANY}${SECRET_CLOSE}`;
}

/** True when nothing in `s` is unknown (secret text may be present, if known). */
export function isKnown(s: string): boolean {
    return !UNKNOWN_RE.test(s);
}

/** True when `s` carries no marker at all: every character is written in the manifests. */
export function isLiteral(s: string): boolean {
    return !MARKER_RE.test(s);
}

/** True when some of `s` comes from a Secret. */
export function hasSecret(s: string): boolean {
    return s.includes(SECRET_OPEN);
}

/** True when some of `s` is unknown and may be anything (blanks, newlines, quotes). */
export function hasFreeUnknown(s: string): boolean {
    return s.includes(ANY) || s.includes(FIELDS);
}

/** `s` without the secret brackets (unknown markers stay). */
export function plain(s: string): string {
    return s.replace(SECRET_RE, "");
}

/** The literal pieces of `s` only, with secret content and unknowns removed (for name checks). */
export function literalPart(s: string): string {
    return s.replace(/\uE002[^\uE003]*\uE003/g, "").replace(/[\uE000-\uE005]/g, "");
}

/** True when `s` could be the empty string. */
export function mayBeEmpty(s: string): boolean {
    const p = plain(s);
    return p.replace(/[\uE000\uE004]/g, "") === "";
}

/** True when `s` is certainly empty. */
export function isEmpty(s: string): boolean {
    return plain(s) === "";
}

/** True when `s` may start with `prefix` (unknown leading text may be anything; WORD/DIGITS never start with `-`). */
export function mayStartWith(s: string, prefix: string): boolean {
    const p = plain(s);
    for (let i = 0; i < prefix.length; i++) {
        const ch = p[i];
        if (ch === undefined) {
            return false;
        }
        if (ch === ANY || ch === FIELDS) {
            return true;
        }
        if (ch === WORD || ch === DIGITS) {
            return !prefix.startsWith("-", i) && (ch === WORD ? /[A-Za-z0-9._]/.test(prefix[i]) : /[0-9]/.test(prefix[i]));
        }
        if (ch !== prefix[i]) {
            return false;
        }
    }
    return true;
}

/** True when `s` certainly starts with `prefix`. */
export function startsWithKnown(s: string, prefix: string): boolean {
    return plain(s).startsWith(prefix) && isKnown(plain(s).slice(0, prefix.length));
}

/** `s` for messages: secret text as <secret>, unknown pieces as `…`. */
export function show(s: string): string {
    return s.replace(/\uE002[^\uE003]*\uE003/g, "<secret>").replace(/[\uE000\uE001\uE004\uE005]/g, "…");
}

/** The marker class a whole unknown value of `charset` belongs to (used for refinements such as `case … *[!0-9]*`). */
export function unknownOfCharset(charset: string): string {
    if (/^[0-9]+$/.test(charset.replace(/0-9/g, "0123456789"))) {
        return DIGITS;
    }
    return WORD;
}

/** True when a character may occur inside the unknown piece `marker`. */
export function unknownMayContain(marker: string, ch: string): boolean {
    switch (marker) {
        case DIGITS:
            return /[0-9]/.test(ch);
        case WORD:
            return /[A-Za-z0-9._-]/.test(ch);
        default:
            return true;
    }
}

/** True when `s` may contain the character `ch` somewhere. */
export function mayContain(s: string, ch: string): boolean {
    for (const c of plain(s)) {
        if (c === ch || (/[\uE000\uE001\uE004\uE005]/.test(c) && unknownMayContain(c, ch))) {
            return true;
        }
    }
    return false;
}

/** Splits `s` at every occurrence of the literal character `sep`; undefined if an unknown piece may contain `sep`. */
export function splitKnown(s: string, sep: string): string[] | undefined {
    if (mayContainHidden(s, sep)) {
        return undefined;
    }
    return s.split(sep);
}

/** True when an unknown piece of `s` (not its literal text) may contain `ch`. */
export function mayContainHidden(s: string, ch: string): boolean {
    for (const c of s) {
        if (/[\uE000\uE001\uE004\uE005]/.test(c) && unknownMayContain(c, ch)) {
            return true;
        }
        if (c === SECRET_OPEN) {
            // Secret text is known when present; an unknown secret is ANY, caught above.
        }
    }
    return false;
}

/** Splits `s` on a literal separator pattern, keeping secret brackets balanced in every piece. */
export function splitBalanced(s: string, sep: RegExp): string[] {
    const pieces = s.split(sep);
    let open = false;
    return pieces.map((p) => {
        let piece = open ? SECRET_OPEN + p : p;
        for (const c of p) {
            if (c === SECRET_OPEN) {
                open = true;
            } else if (c === SECRET_CLOSE) {
                open = false;
            }
        }
        if (open) {
            piece += SECRET_CLOSE;
        }
        return piece;
    });
}

/** `s` with the content of every secret span hidden (credential checks never need it, and must not read it as a literal). */
export function redactSecrets(s: string): string {
    return s.replace(/\uE002[^\uE003]*\uE003/g, `${SECRET_OPEN}${ANY}${SECRET_CLOSE}`);
}
