//go:build tools

// Pins versitygw's module in go.mod/go.sum; scripts/go-tools.sh builds github.com/versity/versitygw/cmd/versitygw.
package tools

import _ "github.com/versity/versitygw/cmd/versitygw"
