// kube-network-policies (sigs.k8s.io/kube-network-policies, pinned in go.mod) for one test node: its
// NetworkPolicy controller, started as its own cmd/main.go starts it, with two differences for nodes.sh:
// the API server is reached through a kubeconfig (-kubeconfig), not the in-cluster service account the
// DaemonSet uses. NRI stays on as in upstream's cmd (v0.8.0 ignores its -disable-nri flag): containerd 1.6
// from Debian has no NRI socket, so the plugin fails to connect and pod IPs come from the API server only.
// (NRIdisabled: true would crash v0.8.0 on the first packet whose address is no pod's: getPodAssignedToIP
// then calls the nil NRI plugin.) The controller, its nftables rules and its NFQUEUE verdicts are upstream's.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/kube-network-policies/pkg/networkpolicy"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the API server (required)")
	nodeName := flag.String("hostname-override", "", "the Node whose pods this instance guards (required)")
	queueID := flag.Int("nfqueue-id", 100, "NFQUEUE number the rules send new connections to")
	failOpen := flag.Bool("fail-open", false, "let packets through while no controller reads the queue")
	klog.InitFlags(nil)
	flag.Parse()
	if *kubeconfig == "" || *nodeName == "" {
		fmt.Fprintln(os.Stderr, "kube-network-policies: -kubeconfig and -hostname-override are required")
		os.Exit(2)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM)
	defer cancel()

	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		klog.Fatalf("kubeconfig %s: %v", *kubeconfig, err)
	}
	clientset, err := kubernetes.NewForConfig(config)
	if err != nil {
		klog.Fatalf("client: %v", err)
	}
	factory := informers.NewSharedInformerFactory(clientset, 0)
	controller, err := networkpolicy.NewController(
		clientset,
		factory.Networking().V1().NetworkPolicies(),
		factory.Core().V1().Namespaces(),
		factory.Core().V1().Pods(),
		nil, nil, nil, nil, // no AdminNetworkPolicy / BaselineAdminNetworkPolicy (alpha, not rendered)
		networkpolicy.Config{
			FailOpen: *failOpen,
			QueueID:  *queueID,
			NodeName: *nodeName,
			// Kernels 6.12+ carry the conntrack fix this workaround is for (upstream's flag help).
			NetfilterBug1766Fix: false,
		},
	)
	if err != nil {
		klog.Fatalf("network policy controller: %v", err)
	}
	go func() {
		if err := controller.Run(ctx); err != nil {
			klog.Errorf("network policy controller stopped: %v", err)
			cancel()
		}
	}()
	factory.Start(ctx.Done())
	<-ctx.Done()
	// Upstream's grace period: Run removes its nftables table on the way out.
	time.Sleep(2 * time.Second)
}
