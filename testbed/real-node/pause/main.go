// The sandbox ("pause") process of the test bed's real node: holds the pod's namespaces, exits on
// SIGINT/SIGTERM and reaps the zombies that end up as its children. Written here because no
// registry is reachable for registry.k8s.io/pause; scripts/tools builds it and scripts/node packs it
// as the image bed.local/pause:1.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
