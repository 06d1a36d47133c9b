//go:build tools

// Pins redis_exporter's module in go.mod/go.sum; scripts/go-tools.sh builds it.
package tools

import _ "github.com/oliver006/redis_exporter"
