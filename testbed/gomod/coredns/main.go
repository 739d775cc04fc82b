// Cluster DNS of the test bed's real node: CoreDNS with only the plugins the bed uses.
//
// CoreDNS's own main links every plugin (cloud DNS providers, etcd, tracing, ...). This wrapper
// links the few below and sets their order, as CoreDNS documents for external builds. There is no
// forward plugin on purpose: names outside cluster.local are never resolved, so a pod cannot reach
// the machine's resolver through the cluster DNS.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

// The order in which the plugins handle a query (a subset of CoreDNS's plugin.cfg, same order).
var directives = []string{"bind", "ready", "health", "errors", "log", "cache", "kubernetes"}

func main() {
	if err := dnsserver.SetDirectives(directives); err != nil {
		panic(err)
	}
	coremain.Run()
}
