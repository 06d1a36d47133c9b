package main

import (
	"net/netip"
	"strconv"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type fixed struct {
	svcs []*corev1.Service
	eps  []*discoveryv1.EndpointSlice
}

func (f *fixed) service(ns, name string) *corev1.Service {
	for _, s := range f.svcs {
		if s.Namespace == ns && s.Name == name {
			return s
		}
	}
	return nil
}

func (f *fixed) namespaceHasServices(ns string) bool {
	for _, s := range f.svcs {
		if s.Namespace == ns {
			return true
		}
	}
	return false
}

func (f *fixed) slices(ns, svc string) []*discoveryv1.EndpointSlice {
	var out []*discoveryv1.EndpointSlice
	for _, s := range f.eps {
		if s.Namespace == ns && s.Labels[discoveryv1.LabelServiceName] == svc {
			out = append(out, s)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func ep(ip, hostname string, ready bool) discoveryv1.Endpoint {
	e := discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(ready)}}
	if hostname != "" {
		e.Hostname = ptr(hostname)
	}
	return e
}

func testServer() *server {
	svc := func(name, clusterIP string, publishNotReady bool) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "cache"},
			Spec: corev1.ServiceSpec{ClusterIP: clusterIP, PublishNotReadyAddresses: publishNotReady,
				Ports: []corev1.ServicePort{{Name: "redis", Protocol: corev1.ProtocolTCP, Port: 6379}}},
		}
	}
	slice := func(svcName string, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: svcName + "-x", Namespace: "cache", Labels: map[string]string{discoveryv1.LabelServiceName: svcName}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   eps,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr("redis"), Protocol: ptr(corev1.ProtocolTCP), Port: ptr(int32(6379))}},
		}
	}
	eps := []discoveryv1.Endpoint{ep("10.1.2.3", "redis-0", true), ep("10.1.3.4", "redis-1", false)}
	st := &fixed{
		svcs: []*corev1.Service{svc("redis", "10.96.0.10", false), svc("redis-headless", "None", false), svc("redis-all", "None", true)},
		eps:  []*discoveryv1.EndpointSlice{slice("redis", eps...), slice("redis-headless", eps...), slice("redis-all", eps...)},
	}
	return &server{res: &resolver{domain: "cluster.local", st: st}, ttl: 5}
}

// ask sends one query through handle (the wire format) and returns the rcode and the answers, as text.
func ask(t *testing.T, s *server, name string, qtype dnsmessage.Type) (dnsmessage.RCode, []string, uint32) {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7, RecursionDesired: true})
	b.StartQuestions()
	b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: qtype, Class: dnsmessage.ClassINET})
	q, _ := b.Finish()
	out := s.handle(q, false)
	var m dnsmessage.Message
	if err := m.Unpack(out); err != nil {
		t.Fatalf("%s: unpack: %v", name, err)
	}
	if m.ID != 7 || !m.Response {
		t.Fatalf("%s: not a response to the query: %+v", name, m.Header)
	}
	var answers []string
	var ttl uint32
	for _, a := range m.Answers {
		ttl = a.Header.TTL
		switch r := a.Body.(type) {
		case *dnsmessage.AResource:
			answers = append(answers, netip.AddrFrom4(r.A).String())
		case *dnsmessage.SRVResource:
			answers = append(answers, r.Target.String()+":"+itoa(r.Port))
		}
	}
	if len(m.Answers) == 0 && len(m.Authorities) > 0 {
		ttl = m.Authorities[0].Header.TTL
	}
	return m.RCode, answers, ttl
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

func TestAnswers(t *testing.T) {
	s := testServer()
	ok, nx := dnsmessage.RCodeSuccess, dnsmessage.RCodeNameError
	for _, c := range []struct {
		name  string
		qtype dnsmessage.Type
		rcode dnsmessage.RCode
		want  []string
	}{
		{"redis.cache.svc.cluster.local.", dnsmessage.TypeA, ok, []string{"10.96.0.10"}},
		{"REDIS.Cache.svc.cluster.local.", dnsmessage.TypeA, ok, []string{"10.96.0.10"}},
		{"redis.cache.svc.cluster.local.", dnsmessage.TypeAAAA, ok, nil}, // exists: NODATA, not NXDOMAIN
		{"redis-headless.cache.svc.cluster.local.", dnsmessage.TypeA, ok, []string{"10.1.2.3"}},
		{"redis-all.cache.svc.cluster.local.", dnsmessage.TypeA, ok, []string{"10.1.2.3", "10.1.3.4"}},
		{"redis-0.redis-headless.cache.svc.cluster.local.", dnsmessage.TypeA, ok, []string{"10.1.2.3"}},
		{"redis-1.redis-headless.cache.svc.cluster.local.", dnsmessage.TypeA, nx, nil}, // not ready
		{"redis-1.redis-all.cache.svc.cluster.local.", dnsmessage.TypeA, ok, []string{"10.1.3.4"}},
		{"_redis._tcp.redis.cache.svc.cluster.local.", dnsmessage.TypeSRV, ok, []string{"redis.cache.svc.cluster.local.:6379"}},
		{"_redis._tcp.redis-headless.cache.svc.cluster.local.", dnsmessage.TypeSRV, ok, []string{"redis-0.redis-headless.cache.svc.cluster.local.:6379"}},
		{"_other._tcp.redis.cache.svc.cluster.local.", dnsmessage.TypeSRV, nx, nil},
		{"10-1-2-3.cache.pod.cluster.local.", dnsmessage.TypeA, ok, []string{"10.1.2.3"}},
		{"cache.svc.cluster.local.", dnsmessage.TypeA, ok, nil},
		{"other.svc.cluster.local.", dnsmessage.TypeA, nx, nil},
		{"nope.cache.svc.cluster.local.", dnsmessage.TypeA, nx, nil},
		// The search-path expansions a pod's resolver (ndots:5) tries first.
		{"redis-0.redis-headless.cache.svc.cluster.local.cache.svc.cluster.local.", dnsmessage.TypeA, nx, nil},
		{"redis-0.redis-headless.cache.svc.cluster.local.svc.cluster.local.", dnsmessage.TypeA, nx, nil},
		{"redis-0.redis-headless.cache.svc.cluster.local.cluster.local.", dnsmessage.TypeA, nx, nil},
		{"redis.cache.svc.cluster.local.cache.svc.cluster.local.", dnsmessage.TypeAAAA, nx, nil},
	} {
		rcode, got, ttl := ask(t, s, c.name, c.qtype)
		if rcode != c.rcode || len(got) != len(c.want) {
			t.Errorf("%s %v: got %v %v, want %v %v", c.name, c.qtype, rcode, got, c.rcode, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s %v: got %v, want %v", c.name, c.qtype, got, c.want)
			}
		}
		if ttl != 5 {
			t.Errorf("%s %v: ttl %d, want 5", c.name, c.qtype, ttl)
		}
	}
}

func TestOutsideTheDomainIsRefusedWithoutUpstream(t *testing.T) {
	if rcode, _, _ := ask(t, testServer(), "example.org.", dnsmessage.TypeA); rcode != dnsmessage.RCodeRefused {
		t.Fatalf("example.org: got %v, want REFUSED", rcode)
	}
}
