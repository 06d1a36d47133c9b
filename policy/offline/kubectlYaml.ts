// YAML read as kubectl reads it (sigs.k8s.io/yaml on go-yaml v2): YAML 1.1 scalars (yes/no/on/off/y/n
// are booleans, 0755 is octal), `<<` merge keys, a repeated key keeps its last value; unlike plain YAML
// 1.1, base-60 numbers and timestamps stay strings, as go-yaml v2 gives them when decoding untyped.

import { parseAllDocuments, type ParseOptions, type DocumentOptions, type SchemaOptions } from "yaml";

/** go-yaml v2 accepts `0o17` octals too (Go's strconv with base 0); YAML 1.1 proper does not. */
const OCTAL_0O = {
    identify: (v: unknown) => typeof v === "number" && Number.isInteger(v),
    default: true,
    tag: "tag:yaml.org,2002:int",
    format: "OCT",
    test: /^[-+]?0o[0-7_]+$/,
    resolve: (str: string) => (str.startsWith("-") ? -1 : 1) * parseInt(str.replace(/^[-+]?0o/, "").replace(/_/g, ""), 8),
};

/**
 * Parser options that read YAML the way kubectl does (sigs.k8s.io/yaml -> go-yaml v2 -> JSON): the YAML
 * 1.1 schema with merge keys, without base-60 numbers and timestamps (go-yaml v2 has no base-60 and
 * gives untyped timestamps as strings), and with a repeated key keeping its last value.
 */
export const KUBECTL_YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
    version: "1.1",
    merge: true,
    uniqueKeys: false,
    customTags: (tags) => [...tags.filter((t) => !(typeof t === "object" && (t.format === "TIME" || t.tag === "tag:yaml.org,2002:timestamp"))), OCTAL_0O],
};

/** Parses a multi-document YAML text as kubectl reads it (see KUBECTL_YAML_OPTIONS). */
export function parseManifestYaml(text: string): ReturnType<typeof parseAllDocuments> {
    return parseAllDocuments(text, KUBECTL_YAML_OPTIONS);
}
