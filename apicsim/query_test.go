package apicsim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
)

func queryFabric(t *testing.T) *Sim {
	s := newSim(t, Config{MaxResultSize: 8})
	s.mustCreate(t, "fvTenant", "uni/tn-common")
	s.mustCreate(t, "fvTenant", "uni/tn-Prod")
	s.mustCreate(t, "fvBD", "uni/tn-Prod/BD-web", "arpFlood", "yes")
	s.mustCreate(t, "fvBD", "uni/tn-Prod/BD-db", "arpFlood", "no")
	s.mustCreate(t, "fvSubnet", "uni/tn-Prod/BD-web/subnet-[10.1.2.1/24]", "ip", "10.1.2.1/24")
	s.mustCreate(t, "fvAp", "uni/tn-Prod/ap-shop")
	s.mustCreate(t, "fvAEPg", "uni/tn-Prod/ap-shop/epg-web")
	s.mustCreate(t, "faultInst", "uni/tn-Prod/BD-web/fault-F0467", "severity", "critical", "lc", "raised")
	s.mustCreate(t, "faultInst", "topology/pod-1/node-101/sys/phys-[eth1/1]/fault-F1394", "severity", "minor", "lc", "raised")
	s.mustCreate(t, "faultInst", "uni/tn-common/qoscustom-default/rtfvCustQosPol-[uni/tn-Prod/ap-shop/epg-web]/fault-F1228", "severity", "warning", "lc", "retaining")
	return s
}

func dnsOf(r *response) []string {
	var dns []string
	for _, o := range r.imdata() {
		for _, v := range o {
			dns = append(dns, v.(map[string]any)["attributes"].(map[string]any)["dn"].(string))
		}
	}
	return dns
}

func TestQueries(t *testing.T) {
	s := queryFabric(t)
	c := newClient(t, s, 0)
	c.login("admin", "password")
	enc := url.PathEscape
	tests := []struct {
		name, path string
		want       []string
		total      int
	}{
		{"class", "/api/class/fvBD.json", []string{"uni/tn-Prod/BD-db", "uni/tn-Prod/BD-web"}, 2},
		{"node class", "/api/node/class/fvTenant.json", []string{"uni/tn-Prod", "uni/tn-common"}, 2},
		{"eq raw", `/api/class/faultInst.json?query-target-filter=eq(faultInst.severity,"critical")`, []string{"uni/tn-Prod/BD-web/fault-F0467"}, 1},
		{"eq encoded", "/api/class/faultInst.json?query-target-filter=" + enc(`eq(faultInst.severity,"critical")`), []string{"uni/tn-Prod/BD-web/fault-F0467"}, 1},
		{"ne", `/api/class/fvBD.json?query-target-filter=ne(fvBD.arpFlood,"yes")`, []string{"uni/tn-Prod/BD-db"}, 1},
		{"or", `/api/class/faultInst.json?query-target-filter=or(eq(faultInst.severity,"minor"),eq(faultInst.severity,"warning"))`,
			[]string{"topology/pod-1/node-101/sys/phys-[eth1/1]/fault-F1394", "uni/tn-common/qoscustom-default/rtfvCustQosPol-[uni/tn-Prod/ap-shop/epg-web]/fault-F1228"}, 2},
		{"and", `/api/class/faultInst.json?query-target-filter=and(eq(faultInst.lc,"raised"),ne(faultInst.severity,"critical"))`, []string{"topology/pod-1/node-101/sys/phys-[eth1/1]/fault-F1394"}, 1},
		{"gt on dn (keyset paging)", `/api/class/fvBD.json?query-target-filter=gt(fvBD.dn,"uni/tn-Prod/BD-db")`, []string{"uni/tn-Prod/BD-web"}, 1},
		{"mo self", "/api/mo/uni/tn-Prod.json", []string{"uni/tn-Prod"}, 1},
		{"mo bracketed dn", "/api/node/mo/uni/tn-Prod/BD-web/subnet-[10.1.2.1/24].json", []string{"uni/tn-Prod/BD-web/subnet-[10.1.2.1/24]"}, 1},
		{"mo children", "/api/mo/uni/tn-Prod.json?query-target=children", []string{"uni/tn-Prod/BD-db", "uni/tn-Prod/BD-web", "uni/tn-Prod/ap-shop"}, 3},
		{"mo subtree class", "/api/mo/uni/tn-Prod.json?query-target=subtree&target-subtree-class=fvAEPg,fvBD",
			[]string{"uni/tn-Prod/BD-db", "uni/tn-Prod/BD-web", "uni/tn-Prod/ap-shop/epg-web"}, 3},
		{"class subtree", "/api/class/fvTenant.json?query-target=subtree&target-subtree-class=fvAEPg",
			[]string{"uni/tn-Prod/ap-shop/epg-web"}, 1},
		{"page 1", "/api/class/faultInst.json?page=1&page-size=2&order-by=faultInst.dn|asc",
			[]string{"uni/tn-common/qoscustom-default/rtfvCustQosPol-[uni/tn-Prod/ap-shop/epg-web]/fault-F1228"}, 3},
		{"order desc", "/api/class/fvBD.json?order-by=fvBD.name|desc", []string{"uni/tn-Prod/BD-web", "uni/tn-Prod/BD-db"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.get(tt.path)
			if r.code != 200 {
				t.Fatalf("%d %s", r.code, r.raw)
			}
			if got := dnsOf(r); !slices.Equal(got, tt.want) {
				t.Errorf("dns %v\nwant %v", got, tt.want)
			}
			if r.body["totalCount"] != strconv.Itoa(tt.total) {
				t.Errorf("totalCount %v, want %d", r.body["totalCount"], tt.total)
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	s := queryFabric(t)
	for i := range 10 {
		s.mustCreate(t, "fvCEp", "uni/tn-Prod/ap-shop/epg-web/cep-00:00:00:00:00:0"+strconv.Itoa(i))
	}
	c := newClient(t, s, 0)
	c.login("admin", "password")
	for _, tt := range []struct{ path, text string }{
		{"/api/class/fvCEp.json", textTooBig},
		{`/api/class/fvBD.json?query-target-filter=eq(fvBD.name`, `invalid query-target-filter: expected ',' at offset 12`},
		{"/api/class/fvBD.json?page-size=0", "page-size must be positive"},
		{"/api/class/fvBD.json?query-target=everything", `invalid query-target "everything"`},
	} {
		r := c.get(tt.path)
		if r.code != http.StatusBadRequest || r.errorText() != tt.text {
			t.Errorf("%s: %d %q, want 400 %q", tt.path, r.code, r.errorText(), tt.text)
		}
	}
	// Paged, the same class is fine, and totalCount is the full count.
	r := c.get("/api/class/fvCEp.json?page=0&page-size=4")
	if r.code != 200 || len(r.imdata()) != 4 || r.body["totalCount"] != "10" {
		t.Fatalf("paged: %d %v %s", r.code, r.body["totalCount"], r.raw)
	}
}

func TestTenantOf(t *testing.T) {
	for dn, want := range map[string]string{
		"uni/tn-Prod": "Prod",
		"uni/tn-Prod/BD-web/subnet-[10.1.2.1/24]":                               "Prod",
		"topology/pod-1/node-101/sys/phys-[eth1/1]":                             "",
		"uni/infra/attentp-x":                                                   "",
		"uni/tn-common/qoscustom-default/rtfvCustQosPol-[uni/tn-dh/ap-a/epg-e]": "common",
	} {
		if got := tenantOf(dn); got != want {
			t.Errorf("tenantOf(%s) = %q, want %q", dn, got, want)
		}
	}
	if got := splitDN("uni/tn-common/qoscustom-default/rtfvCustQosPol-[uni/tn-dh/ap-a/epg-e]"); len(got) != 4 {
		t.Errorf("splitDN: %q", got)
	}
}

// TestDNRangeQueries: keyset pages by DN bounds give the same answers as
// the general path, which checks every object.
func TestDNRangeQueries(t *testing.T) {
	s := newSim(t, Config{})
	for i := range 30 {
		s.mustCreate(t, "fvBD", fmt.Sprintf("uni/tn-a/BD-%02d", i))
	}
	c := newClient(t, s, 0)
	c.login("admin", "password")
	for _, tc := range []struct {
		filter string
		page   int
		want   []string
		total  int
	}{
		{`gt(fvBD.dn,"uni/tn-a/BD-27")`, 0, []string{"uni/tn-a/BD-28", "uni/tn-a/BD-29"}, 2},
		{`ge(fvBD.dn,"uni/tn-a/BD-27")`, 0, []string{"uni/tn-a/BD-27", "uni/tn-a/BD-28", "uni/tn-a/BD-29"}, 3},
		{`and(gt(fvBD.dn,"uni/tn-a/BD-05"),le(fvBD.dn,"uni/tn-a/BD-08"))`, 0, []string{"uni/tn-a/BD-06", "uni/tn-a/BD-07", "uni/tn-a/BD-08"}, 3},
		{`and(gt(fvBD.dn,"uni/tn-a/BD-05"),lt(fvBD.dn,"uni/tn-a/BD-08"))`, 0, []string{"uni/tn-a/BD-06", "uni/tn-a/BD-07"}, 2},
		{`and(gt(fvBD.dn,"uni/tn-a/BD-00"),le(fvBD.dn,"uni/tn-a/BD-09"))`, 1, []string{"uni/tn-a/BD-05", "uni/tn-a/BD-06", "uni/tn-a/BD-07", "uni/tn-a/BD-08"}, 9},
		{`gt(fvBD.dn,"uni/tn-a/BD-2")`, 0, []string{"uni/tn-a/BD-20", "uni/tn-a/BD-21", "uni/tn-a/BD-22", "uni/tn-a/BD-23"}, 10},
		{`lt(fvBD.dn,"uni/tn-a/BD-00")`, 0, nil, 0},
	} {
		path := fmt.Sprintf("/api/class/fvBD.json?order-by=fvBD.dn|asc&page=%d&page-size=4&query-target-filter=%s", tc.page, tc.filter)
		r := c.get(path)
		if got := dnsOf(r); r.code != 200 || !slices.Equal(got, tc.want) || r.body["totalCount"] != strconv.Itoa(tc.total) {
			t.Errorf("%s page %d: %d %v total %v, want %v total %d", tc.filter, tc.page, r.code, got, r.body["totalCount"], tc.want, tc.total)
		}
	}
}

// A page of one in an attribute's order (a probe for the newest object) is
// found in one pass; it must be the first of the whole sorted answer.
func TestFirstInOrderMatchesSort(t *testing.T) {
	s := newSim(t, Config{})
	for i := range 40 {
		s.mustCreate(t, "fvBD", fmt.Sprintf("uni/tn-a/BD-%02d", i), "descr", strconv.Itoa(i*7%11))
	}
	c := newClient(t, s, 0)
	c.login("admin", "password")
	for _, order := range []string{"asc", "desc"} {
		all := dnsOf(c.get("/api/class/fvBD.json?page=0&page-size=40&order-by=fvBD.descr|" + order))
		one := c.get("/api/class/fvBD.json?page=0&page-size=1&order-by=fvBD.descr|" + order)
		if got := dnsOf(one); len(all) != 40 || !slices.Equal(got, all[:1]) || one.body["totalCount"] != "40" {
			t.Errorf("%s: page of one %v total %v, want %v total 40", order, got, one.body["totalCount"], all[:1])
		}
	}
}
