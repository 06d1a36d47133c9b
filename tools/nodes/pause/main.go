// The pod sandbox's process: holds the pod's namespaces open and exits on SIGTERM/SIGINT, as
// registry.k8s.io/pause does. Built static (CGO_ENABLED=0) so the image needs no libraries.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// PID 1 in the sandbox: children re-parented here must be reaped or they stay zombies.
	signal.Ignore(syscall.SIGCHLD)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
