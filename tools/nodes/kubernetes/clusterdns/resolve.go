package main

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// store is what the answers are computed from: the informers' caches (main.go) or a fixed set (tests).
type store interface {
	service(ns, name string) *corev1.Service
	namespaceHasServices(ns string) bool
	slices(ns, service string) []*discoveryv1.EndpointSlice
}

// record is one answer: an A record (addr) or an SRV record (target, port) for name.
type record struct {
	name   string
	addr   netip.Addr
	target string
	port   uint16
}

// result of a lookup in the cluster zone; exists=false is NXDOMAIN, exists with no records is NODATA.
type result struct {
	exists  bool
	records []record
}

type resolver struct {
	domain string // "cluster.local", lower case, no trailing dot
	st     store
}

// inZone reports whether qname (lower case, no trailing dot) is the cluster domain or below it.
func (r *resolver) inZone(qname string) bool {
	return qname == r.domain || strings.HasSuffix(qname, "."+r.domain)
}

// lookup answers qname (lower case, no trailing dot, inside the zone) for qtype.
// Only the shapes Kubernetes defines are looked up; anything else (e.g. a pod's search-path expansion
// "redis-0.redis-headless.cache.svc.cluster.local.cache.svc.cluster.local") is NXDOMAIN without a lookup.
func (r *resolver) lookup(qname string, qtype dnsmessage.Type) result {
	if qname == r.domain {
		return result{exists: true}
	}
	labels := strings.Split(strings.TrimSuffix(qname, "."+r.domain), ".")
	n := len(labels)
	switch labels[n-1] {
	case "svc":
		switch n {
		case 1: // svc.cluster.local: an empty non-terminal
			return result{exists: true}
		case 2: // <ns>.svc.cluster.local
			return result{exists: r.st.namespaceHasServices(labels[0])}
		case 3: // <svc>.<ns>.svc.cluster.local
			return r.serviceRecords(qname, labels[1], labels[0], qtype, "", "")
		case 4:
			if strings.HasPrefix(labels[0], "_") { // _<proto>.<svc>.<ns>.svc: an empty non-terminal
				svc := r.st.service(labels[2], labels[1])
				return result{exists: svc != nil && hasProtocol(svc, strings.TrimPrefix(labels[0], "_"))}
			}
			return r.endpointRecords(qname, labels[2], labels[1], labels[0], qtype)
		case 5:
			if strings.HasPrefix(labels[0], "_") && strings.HasPrefix(labels[1], "_") { // _<port>._<proto>.<svc>.<ns>.svc
				return r.serviceRecords(qname, labels[3], labels[2], qtype, labels[0][1:], labels[1][1:])
			}
		}
	case "pod":
		// <a-b-c-d>.<ns>.pod.cluster.local: the address spelled in the name (CoreDNS's "pods insecure").
		if n == 3 {
			if a, err := netip.ParseAddr(strings.ReplaceAll(labels[0], "-", ".")); err == nil && a.Is4() {
				res := result{exists: true}
				if qtype == dnsmessage.TypeA {
					res.records = []record{{name: qname, addr: a}}
				}
				return res
			}
		}
	}
	return result{}
}

func hasProtocol(svc *corev1.Service, proto string) bool {
	for _, p := range svc.Spec.Ports {
		if strings.EqualFold(string(p.Protocol), proto) {
			return true
		}
	}
	return false
}

func headless(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP == corev1.ClusterIPNone || svc.Spec.ClusterIP == ""
}

// endpoint is one published IPv4 address of a Service with the name it answers to under the Service:
// its hostname (StatefulSet pods) or the address with dashes, as CoreDNS names them.
type endpoint struct {
	addr  netip.Addr
	label string
}

// endpoints: the ready addresses of the Service's IPv4 EndpointSlices (all of them with
// publishNotReadyAddresses), deduplicated, in address order so answers are stable.
func (r *resolver) endpoints(svc *corev1.Service) []endpoint {
	seen := map[netip.Addr]bool{}
	var out []endpoint
	for _, s := range r.st.slices(svc.Namespace, svc.Name) {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, e := range s.Endpoints {
			// A nil ready condition means unknown, which consumers are told to read as ready.
			if !svc.Spec.PublishNotReadyAddresses && e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			for _, a := range e.Addresses {
				ip, err := netip.ParseAddr(a)
				if err != nil || seen[ip] {
					continue
				}
				seen[ip] = true
				label := strings.ReplaceAll(ip.String(), ".", "-")
				if e.Hostname != nil && *e.Hostname != "" {
					label = strings.ToLower(*e.Hostname)
				}
				out = append(out, endpoint{addr: ip, label: label})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].addr.Less(out[j].addr) })
	return out
}

// slicePorts: the ports the Service's EndpointSlices publish (name, protocol, number).
func (r *resolver) slicePorts(svc *corev1.Service) []discoveryv1.EndpointPort {
	var out []discoveryv1.EndpointPort
	seen := map[string]bool{}
	for _, s := range r.st.slices(svc.Namespace, svc.Name) {
		for _, p := range s.Ports {
			if p.Port == nil {
				continue
			}
			name, proto := "", "TCP"
			if p.Name != nil {
				name = *p.Name
			}
			if p.Protocol != nil {
				proto = string(*p.Protocol)
			}
			key := name + "/" + proto + "/" + strconv.Itoa(int(*p.Port))
			if !seen[key] {
				seen[key] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// serviceRecords answers <svc>.<ns>.svc (port, proto empty) and _<port>._<proto>.<svc>.<ns>.svc.
func (r *resolver) serviceRecords(qname, ns, name string, qtype dnsmessage.Type, port, proto string) result {
	svc := r.st.service(ns, name)
	if svc == nil || svc.Spec.Type == corev1.ServiceTypeExternalName {
		return result{}
	}
	svcName := name + "." + ns + ".svc." + r.domain
	res := result{exists: true}
	named := port != ""
	if named {
		// The name exists when the Service has that named port and protocol.
		res.exists = false
		for _, p := range svc.Spec.Ports {
			if strings.EqualFold(p.Name, port) && strings.EqualFold(string(p.Protocol), proto) {
				res.exists = true
			}
		}
		if !res.exists {
			return res
		}
	}
	switch qtype {
	case dnsmessage.TypeA:
		if named {
			return res
		}
		if !headless(svc) {
			if a, err := netip.ParseAddr(svc.Spec.ClusterIP); err == nil && a.Is4() {
				res.records = append(res.records, record{name: qname, addr: a})
			}
			return res
		}
		for _, e := range r.endpoints(svc) {
			res.records = append(res.records, record{name: qname, addr: e.addr})
		}
	case dnsmessage.TypeSRV:
		if !headless(svc) {
			for _, p := range svc.Spec.Ports {
				if p.Name == "" && named || named && !(strings.EqualFold(p.Name, port) && strings.EqualFold(string(p.Protocol), proto)) {
					continue
				}
				res.records = append(res.records, record{name: qname, target: svcName, port: uint16(p.Port)})
			}
			return res
		}
		// Headless: one SRV per endpoint and port, pointing at the endpoint's own name.
		for _, p := range r.slicePorts(svc) {
			pname, pproto := "", "TCP"
			if p.Name != nil {
				pname = *p.Name
			}
			if p.Protocol != nil {
				pproto = string(*p.Protocol)
			}
			if named && !(strings.EqualFold(pname, port) && strings.EqualFold(pproto, proto)) {
				continue
			}
			for _, e := range r.endpoints(svc) {
				res.records = append(res.records, record{name: qname, target: e.label + "." + svcName, port: uint16(*p.Port)})
			}
		}
	}
	return res
}

// endpointRecords answers <hostname>.<svc>.<ns>.svc (or <a-b-c-d>.<svc>.<ns>.svc) from the Service's endpoints.
func (r *resolver) endpointRecords(qname, ns, name, label string, qtype dnsmessage.Type) result {
	svc := r.st.service(ns, name)
	if svc == nil {
		return result{}
	}
	res := result{}
	for _, e := range r.endpoints(svc) {
		if e.label == label {
			res.exists = true
			if qtype == dnsmessage.TypeA {
				res.records = append(res.records, record{name: qname, addr: e.addr})
			}
		}
	}
	return res
}
