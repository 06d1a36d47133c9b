// clusterdns: a small cluster DNS for the test nodes (scripts/nodes.sh), standing in for CoreDNS. It is
// built in the kubelet's module (tools/nodes/kubernetes), so everything but this package comes from the
// kubelet/kube-proxy build cache; CoreDNS needs other client-go versions and took 18-22 min to build cold.
// It watches Services and EndpointSlices and answers the names Kubernetes defines under the cluster domain;
// names outside it are forwarded to the host's resolvers (or refused with -upstream=none).
// What it does not do: tools/nodes/README.md.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	listen := flag.String("listen", "", "address:port to answer on, UDP and TCP (required)")
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the API server (required)")
	kubecontext := flag.String("context", "", "kubeconfig context (default: its current one)")
	domain := flag.String("domain", "cluster.local", "the cluster domain")
	ttl := flag.Uint("ttl", 5, "TTL of every answer, negative ones included (seconds)")
	upstream := flag.String("upstream", "/etc/resolv.conf", "names outside the domain: a resolv.conf whose nameservers get them, or none to refuse them")
	flag.Parse()
	if *listen == "" || *kubeconfig == "" {
		log.Fatal("clusterdns: -listen and -kubeconfig are required")
	}

	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: *kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: *kubecontext},
	).ClientConfig()
	if err != nil {
		log.Fatalf("clusterdns: kubeconfig %s: %v", *kubeconfig, err)
	}
	cfg.UserAgent = "msa-clusterdns"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		log.Fatalf("clusterdns: %v", err)
	}
	var forwarders []string
	if *upstream != "none" {
		if forwarders, err = nameservers(*upstream); err != nil {
			log.Fatalf("clusterdns: -upstream %s: %v (give a resolv.conf with nameserver lines, or none)", *upstream, err)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	factory := informers.NewSharedInformerFactory(client, 0)
	svcInformer := factory.Core().V1().Services()
	sliceInformer := factory.Discovery().V1().EndpointSlices()
	// Slices by "<ns>/<service>" (their kubernetes.io/service-name label), so a lookup touches only its own.
	if err := sliceInformer.Informer().AddIndexers(cache.Indexers{"service": func(obj any) ([]string, error) {
		s := obj.(*discoveryv1.EndpointSlice)
		if name := s.Labels[discoveryv1.LabelServiceName]; name != "" {
			return []string{s.Namespace + "/" + name}, nil
		}
		return nil, nil
	}}); err != nil {
		log.Fatalf("clusterdns: %v", err)
	}
	// Informers join the factory when first asked for: both before Start, or one would never run.
	svcLister := svcInformer.Lister()
	sliceIndex := sliceInformer.Informer().GetIndexer()
	factory.Start(ctx.Done())
	t0 := time.Now()
	// Listening only once the caches are filled: `nodes.sh up` waits for the socket, so a pod never gets
	// NXDOMAIN for a Service that exists.
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			log.Fatalf("clusterdns: the %v cache did not sync", typ)
		}
	}
	st := &informerStore{services: svcLister, slicesIndex: sliceIndex}
	srv := &server{res: &resolver{domain: strings.ToLower(strings.TrimSuffix(*domain, ".")), st: st}, ttl: uint32(*ttl), upstream: forwarders}

	pc, err := net.ListenPacket("udp", *listen)
	if err != nil {
		log.Fatalf("clusterdns: %v", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("clusterdns: %v", err)
	}
	log.Printf("clusterdns: caches synced in %.1f s; answering %s on %s (udp, tcp), ttl %d s, upstream %v",
		time.Since(t0).Seconds(), srv.res.domain, *listen, *ttl, forwardersOrNone(forwarders))
	go srv.serveUDP(pc)
	go srv.serveTCP(ln)
	<-ctx.Done()
	pc.Close()
	ln.Close()
}

func forwardersOrNone(f []string) any {
	if len(f) == 0 {
		return "none (refused)"
	}
	return f
}

// nameservers reads the nameserver lines of a resolv.conf.
func nameservers(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			out = append(out, net.JoinHostPort(f[1], "53"))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no nameserver lines")
	}
	return out, nil
}

type informerStore struct {
	services    corelisters.ServiceLister
	slicesIndex cache.Indexer
}

func (s *informerStore) service(ns, name string) *corev1.Service {
	svc, err := s.services.Services(ns).Get(name)
	if err != nil {
		return nil
	}
	return svc
}

func (s *informerStore) namespaceHasServices(ns string) bool {
	l, err := s.services.Services(ns).List(labels.Everything())
	return err == nil && len(l) > 0
}

func (s *informerStore) slices(ns, service string) []*discoveryv1.EndpointSlice {
	objs, err := s.slicesIndex.ByIndex("service", ns+"/"+service)
	if err != nil {
		return nil
	}
	out := make([]*discoveryv1.EndpointSlice, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.(*discoveryv1.EndpointSlice))
	}
	return out
}

type server struct {
	res      *resolver
	ttl      uint32
	upstream []string
}

func (s *server) serveUDP(pc net.PacketConn) {
	buf := make([]byte, 65535)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			log.Printf("clusterdns: udp: %v", err)
			continue
		}
		q := append([]byte(nil), buf[:n]...)
		go func() {
			if out := s.handle(q, false); out != nil {
				pc.WriteTo(out, addr)
			}
		}()
	}
}

func (s *server) serveTCP(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			log.Printf("clusterdns: tcp: %v", err)
			continue
		}
		go func() {
			defer c.Close()
			for {
				c.SetDeadline(time.Now().Add(10 * time.Second))
				var l [2]byte
				if _, err := io.ReadFull(c, l[:]); err != nil {
					return
				}
				q := make([]byte, binary.BigEndian.Uint16(l[:]))
				if _, err := io.ReadFull(c, q); err != nil {
					return
				}
				out := s.handle(q, true)
				if out == nil {
					return
				}
				if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(out))), out...)); err != nil {
					return
				}
			}
		}()
	}
}

// handle answers one query message; nil drops it (not a parseable query).
func (s *server) handle(msg []byte, tcp bool) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || h.Response {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return reply(h, nil, dnsmessage.RCodeFormatError, nil, nil, nil)
	}
	limit := 512
	if !tcp {
		// The client's EDNS UDP size, if it sent one.
		if p.SkipAllQuestions() == nil && p.SkipAllAnswers() == nil && p.SkipAllAuthorities() == nil {
			for {
				rh, err := p.AdditionalHeader()
				if err != nil {
					break
				}
				if rh.Type == dnsmessage.TypeOPT && int(rh.Class) > limit {
					limit = int(rh.Class)
				}
				if p.SkipAdditional() != nil {
					break
				}
			}
		}
	} else {
		limit = 65535
	}
	if h.OpCode != 0 {
		return reply(h, &q, dnsmessage.RCodeNotImplemented, nil, nil, nil)
	}
	qname := strings.ToLower(strings.TrimSuffix(q.Name.String(), "."))
	if !s.res.inZone(qname) {
		if len(s.upstream) == 0 {
			return reply(h, &q, dnsmessage.RCodeRefused, nil, nil, nil)
		}
		return s.forward(h, &q, msg, tcp)
	}
	var r result
	if q.Class == dnsmessage.ClassINET || q.Class == dnsmessage.ClassANY {
		r = s.res.lookup(qname, q.Type)
	}
	soa := s.soa()
	rcode := dnsmessage.RCodeSuccess
	if !r.exists {
		rcode = dnsmessage.RCodeNameError
	}
	h.Authoritative = true
	if qname == s.res.domain && q.Type == dnsmessage.TypeSOA {
		out := reply(h, &q, rcode, nil, nil, func(b *dnsmessage.Builder) error {
			return b.SOAResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: s.ttl}, soa)
		})
		return out
	}
	out := reply(h, &q, rcode, r.records, &soa, nil, s.ttl)
	if len(out) > limit {
		// Too big for the client's UDP buffer: truncated, so it retries over TCP.
		h.Truncated = true
		return reply(h, &q, rcode, nil, nil, nil)
	}
	return out
}

func (s *server) soa() dnsmessage.SOAResource {
	ns := dnsmessage.MustNewName("ns.dns." + s.res.domain + ".")
	mbox := dnsmessage.MustNewName("hostmaster." + s.res.domain + ".")
	return dnsmessage.SOAResource{NS: ns, MBox: mbox, Serial: uint32(time.Now().Unix()), Refresh: 7200, Retry: 1800, Expire: 86400, MinTTL: s.ttl}
}

// reply builds a response to h with question q: the records as answers, the SOA (when there is no answer)
// as authority, or what extra writes as the answer section.
func reply(h dnsmessage.Header, q *dnsmessage.Question, rcode dnsmessage.RCode, records []record, soa *dnsmessage.SOAResource, extra func(*dnsmessage.Builder) error, ttl ...uint32) []byte {
	h.Response = true
	h.RecursionAvailable = true
	h.RCode = rcode
	t := uint32(5)
	if len(ttl) > 0 {
		t = ttl[0]
	}
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), h)
	b.EnableCompression()
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(b.StartQuestions())
	if q != nil {
		must(b.Question(*q))
	}
	must(b.StartAnswers())
	if extra != nil {
		must(extra(&b))
	}
	for _, r := range records {
		name := q.Name // the question's spelling
		if !strings.EqualFold(strings.TrimSuffix(name.String(), "."), r.name) {
			name = dnsmessage.MustNewName(r.name + ".")
		}
		rh := dnsmessage.ResourceHeader{Name: name, Class: dnsmessage.ClassINET, TTL: t}
		if r.target != "" {
			must(b.SRVResource(rh, dnsmessage.SRVResource{Priority: 0, Weight: 100, Port: r.port, Target: dnsmessage.MustNewName(r.target + ".")}))
		} else {
			must(b.AResource(rh, dnsmessage.AResource{A: r.addr.As4()}))
		}
	}
	if len(records) == 0 && soa != nil {
		must(b.StartAuthorities())
		zone := dnsmessage.MustNewName(strings.TrimPrefix(soa.MBox.String(), "hostmaster."))
		must(b.SOAResource(dnsmessage.ResourceHeader{Name: zone, Class: dnsmessage.ClassINET, TTL: t}, *soa))
	}
	out, err := b.Finish()
	if err != nil {
		panic(err)
	}
	return out
}

// forward relays a query outside the domain to the upstream nameservers in turn; SERVFAIL when none answers.
func (s *server) forward(h dnsmessage.Header, q *dnsmessage.Question, msg []byte, tcp bool) []byte {
	for _, up := range s.upstream {
		out, err := exchange(up, msg, tcp)
		if err == nil {
			return out
		}
	}
	return reply(h, q, dnsmessage.RCodeServerFailure, nil, nil, nil)
}

func exchange(addr string, msg []byte, tcp bool) ([]byte, error) {
	network := "udp"
	if tcp {
		network = "tcp"
	}
	c, err := net.DialTimeout(network, addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if !tcp {
		if _, err := c.Write(msg); err != nil {
			return nil, err
		}
		buf := make([]byte, 65535)
		n, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
	if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(msg))), msg...)); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil, err
	}
	out := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, out); err != nil {
		return nil, fmt.Errorf("upstream %s: %w", addr, err)
	}
	return out, nil
}
