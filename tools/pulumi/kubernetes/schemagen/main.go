// schemagen writes the two files the provider embeds, from the schema.json and terraform-mapping.json
// shipped in the provider module: the schema with its "version" set to the plugin's version (the engine
// compares it with the plugin it loaded) and both files minified, as upstream's generate step does.
//
//	schemagen -src <module dir>/cmd/pulumi-resource-kubernetes -out <dir> -version 4.25.0
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	src := flag.String("src", "", "directory holding schema.json and terraform-mapping.json")
	out := flag.String("out", ".", "directory to write schema-embed.json and terraform-mapping-embed.json to")
	version := flag.String("version", "", "plugin version without a leading v")
	flag.Parse()
	if *src == "" || *version == "" {
		fail(fmt.Errorf("-src and -version are required"))
	}

	raw, err := os.ReadFile(filepath.Join(*src, "schema.json"))
	fail(err)
	// RawMessage keeps every other field byte for byte (no float or key-order surprises).
	var spec map[string]json.RawMessage
	fail(json.Unmarshal(raw, &spec))
	v, err := json.Marshal(*version)
	fail(err)
	spec["version"] = v
	schema, err := json.Marshal(spec)
	fail(err)
	fail(os.WriteFile(filepath.Join(*out, "schema-embed.json"), schema, 0o644))

	mapping, err := os.ReadFile(filepath.Join(*src, "terraform-mapping.json"))
	fail(err)
	var compact bytes.Buffer
	fail(json.Compact(&compact, mapping))
	fail(os.WriteFile(filepath.Join(*out, "terraform-mapping-embed.json"), compact.Bytes(), 0o644))
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}
