//go:build tools

// Pins actionlint's module in go.mod/go.sum; scripts/go-tools.sh builds github.com/rhysd/actionlint/cmd/actionlint.
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
