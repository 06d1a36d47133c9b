// CoreDNS with only the plugins the real nodes' Corefile uses (scripts/nodes.sh): the stock binary links
// every plugin (cloud DNS providers, etcd, ...), which made a cold build take 18 minutes on a loaded
// 2-core machine. Plugins register themselves in init(); the directive order stays CoreDNS's own.
package main

import (
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
)

func main() {
	coremain.Run()
}
