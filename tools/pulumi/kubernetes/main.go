// pulumi-resource-kubernetes built from the Go module proxy. The upstream main package embeds
// schema-embed.json and terraform-mapping-embed.json, which `go generate` writes and which are therefore
// not in the module zip; scripts/pulumi-engine.sh copies this package into the build cache, runs
// ./schemagen there to write both files, and builds with the version ldflag.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
