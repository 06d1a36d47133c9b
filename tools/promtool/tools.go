//go:build tools

// Pins promtool's module in go.mod/go.sum; scripts/go-tools.sh builds github.com/prometheus/prometheus/cmd/promtool.
package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"
