package apicsim

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aci-exporter/aci-exporter/internal/proctest"
)

// The expected answers below are written by hand from the shapes of the
// Cisco APIC REST API guide's query options and captured APIC answers
// (nested objects carry rn and no dn; an object without children has no
// "children" key; a count is one moCount object). TS is the test clock's
// modTs.

const ts = "2026-11-26T12:00:00.000+00:00"

// answerFabric is a small tenant with a subtree deep enough for every
// option: BD-web holds a subnet, a fault and a health score; the EPG holds
// a relation of a class apicsim does not model.
func answerFabric(t *testing.T, cfg Config) (*Sim, *client) {
	t.Helper()
	cfg.Now = newTestClock().Now
	s := newSim(t, cfg)
	for _, o := range []struct {
		class, dn string
		attrs     map[string]string
	}{
		{"fvTenant", "uni/tn-Prod", map[string]string{"name": "Prod"}},
		{"fvTenant", "uni/tn-common", map[string]string{"name": "common"}},
		{"healthInst", "uni/tn-Prod/health", map[string]string{"cur": "95", "maxSev": "minor", "modTs": "never"}},
		{"fvBD", "uni/tn-Prod/BD-db", map[string]string{"name": "db", "arpFlood": "no", "pcTag": "16387"}},
		{"fvBD", "uni/tn-Prod/BD-web", map[string]string{"name": "web", "arpFlood": "yes", "pcTag": "16386", "scope": "2392064"}},
		{"healthInst", "uni/tn-Prod/BD-web/health", map[string]string{"cur": "80", "maxSev": "minor", "modTs": "never"}},
		{"faultInst", "uni/tn-Prod/BD-web/fault-F1386", map[string]string{"ack": "no", "code": "F1386", "lc": "raised", "severity": "minor", "modTs": "never"}},
		{"fvSubnet", "uni/tn-Prod/BD-web/subnet-[10.1.2.1/24]", map[string]string{"ip": "10.1.2.1/24", "scope": "public"}},
		{"fvAp", "uni/tn-Prod/ap-shop", map[string]string{"name": "shop"}},
		{"fvAEPg", "uni/tn-Prod/ap-shop/epg-web", map[string]string{"name": "web"}},
		{"fvRsBd", "uni/tn-Prod/ap-shop/epg-web/rsbd", map[string]string{"tnFvBDName": "web"}},
		{"vzFilter", "uni/tn-Prod/flt-http", map[string]string{"name": "http"}},
	} {
		if err := s.Create(o.class, o.dn, o.attrs); err != nil {
			t.Fatal(err)
		}
	}
	c := newClient(t, s, 0)
	if r := c.login("admin", "password"); r.code != http.StatusOK {
		t.Fatalf("login: %d %s", r.code, r.raw)
	}
	return s, c
}

// Objects of answerFabric as the APIC writes them: at the top of imdata
// (with dn) or nested (with rn).
const (
	tnProd     = `"childAction":"","dn":"uni/tn-Prod","modTs":"TS","name":"Prod","rn":"","status":""`
	tnCommon   = `"childAction":"","dn":"uni/tn-common","modTs":"TS","name":"common","rn":"","status":""`
	bdDB       = `"arpFlood":"no","childAction":"","dn":"uni/tn-Prod/BD-db","modTs":"TS","name":"db","pcTag":"16387","rn":"","status":""`
	bdWeb      = `"arpFlood":"yes","childAction":"","dn":"uni/tn-Prod/BD-web","modTs":"TS","name":"web","pcTag":"16386","rn":"","scope":"2392064","status":""`
	apShop     = `"childAction":"","dn":"uni/tn-Prod/ap-shop","modTs":"TS","name":"shop","rn":"","status":""`
	nestedBDDB = `{"fvBD":{"attributes":{"arpFlood":"no","childAction":"","modTs":"TS","name":"db","pcTag":"16387","rn":"BD-db","status":""}}}`
	nestedWeb  = `"arpFlood":"yes","childAction":"","modTs":"TS","name":"web","pcTag":"16386","rn":"BD-web","scope":"2392064","status":""`
	tnHealth   = `{"healthInst":{"attributes":{"childAction":"","cur":"95","maxSev":"minor","modTs":"never","rn":"health","status":""}}}`
	bdHealth   = `{"healthInst":{"attributes":{"childAction":"","cur":"80","maxSev":"minor","modTs":"never","rn":"health","status":""}}}`
	bdFault    = `{"faultInst":{"attributes":{"ack":"no","childAction":"","code":"F1386","lc":"raised","modTs":"never","rn":"fault-F1386","severity":"minor","status":""}}}`
	subnet     = `{"fvSubnet":{"attributes":{"childAction":"","ip":"10.1.2.1/24","modTs":"TS","rn":"subnet-[10.1.2.1/24]","scope":"public","status":""}}}`
	rsBd       = `{"fvRsBd":{"attributes":{"childAction":"","modTs":"TS","rn":"rsbd","status":"","tnFvBDName":"web"}}}`
	epgWithRs  = `{"fvAEPg":{"attributes":{"childAction":"","modTs":"TS","name":"web","rn":"epg-web","status":""},"children":[` + rsBd + `]}}`
)

// sameJSON compares an answer with the expected one, key order aside.
func sameJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	want = strings.ReplaceAll(want, "TS", ts)
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: answer is not JSON: %v\n%s", what, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: expected answer is not JSON: %v", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, got, want)
	}
}

type answerCase struct{ name, path, want string }

func checkAnswers(t *testing.T, c *client, cases []answerCase) {
	t.Helper()
	for _, tc := range cases {
		r := c.get(tc.path)
		if r.code != http.StatusOK {
			t.Errorf("%s: %d %s", tc.name, r.code, r.raw)
			continue
		}
		sameJSON(t, tc.name, r.raw, tc.want)
	}
}

func count(n int) string {
	return `{"totalCount":"1","imdata":[{"moCount":{"attributes":{"childAction":"","count":"` + strconv.Itoa(n) + `","dn":"","status":""}}}]}`
}

func TestCountInclude(t *testing.T) {
	// One object over the unpaged limit: a count must not build the answer.
	_, c := answerFabric(t, Config{MaxResultSize: 1})
	if r := c.get("/api/class/fvBD.json"); r.code != http.StatusBadRequest || r.errorText() != textTooBig {
		t.Fatalf("plain query over the limit: %d %s", r.code, r.raw)
	}
	r := c.get("/api/class/fvBD.json?rsp-subtree-include=count")
	if want := count(2); string(r.raw) != want { // byte for byte, as clients match it
		t.Fatalf("count:\n got %s\nwant %s", r.raw, want)
	}
	checkAnswers(t, c, []answerCase{
		{"class with filter", `/api/class/fvBD.json?query-target-filter=eq(fvBD.arpFlood,"yes")&rsp-subtree-include=count`, count(1)},
		{"node class, paging ignored", "/api/node/class/fvBD.json?rsp-subtree-include=count&page=0&page-size=1", count(2)},
		{"mo subtree", "/api/mo/uni/tn-Prod.json?query-target=subtree&target-subtree-class=fvBD,fvSubnet&rsp-subtree-include=count", count(3)},
		{"mo children with filter", `/api/mo/uni/tn-Prod.json?query-target=children&query-target-filter=eq(fvBD.name,"db")&rsp-subtree-include=count`, count(1)},
		{"mo self", "/api/mo/uni/tn-Prod.json?rsp-subtree-include=count", count(1)},
		{"missing mo", "/api/mo/uni/tn-Nope.json?rsp-subtree-include=count", count(0)},
		{"class without objects", "/api/class/eqptIngrTotal5min.json?rsp-subtree-include=count", count(0)},
		{"with required", "/api/class/fvBD.json?rsp-subtree=children&rsp-subtree-class=fvSubnet&rsp-subtree-include=count,required", count(1)},
	})
}

func TestRspSubtree(t *testing.T) {
	_, c := answerFabric(t, Config{})
	checkAnswers(t, c, []answerCase{
		{"no", "/api/class/fvBD.json?rsp-subtree=no",
			`{"totalCount":"2","imdata":[{"fvBD":{"attributes":{` + bdDB + `}}},{"fvBD":{"attributes":{` + bdWeb + `}}}]}`},
		{"children", "/api/mo/uni/tn-Prod/BD-web.json?rsp-subtree=children",
			`{"totalCount":"1","imdata":[{"fvBD":{"attributes":{` + bdWeb + `},"children":[` + bdFault + `,` + bdHealth + `,` + subnet + `]}}]}`},
		{"children of a class", "/api/class/fvBD.json?rsp-subtree=children&rsp-subtree-class=fvSubnet",
			`{"totalCount":"2","imdata":[{"fvBD":{"attributes":{` + bdDB + `}}},{"fvBD":{"attributes":{` + bdWeb + `},"children":[` + subnet + `]}}]}`},
		{"children filtered", `/api/mo/uni/tn-Prod/BD-web.json?rsp-subtree=children&rsp-subtree-filter=eq(faultInst.severity,"minor")`,
			`{"totalCount":"1","imdata":[{"fvBD":{"attributes":{` + bdWeb + `},"children":[` + bdFault + `]}}]}`},
		{"full", "/api/mo/uni/tn-Prod/ap-shop.json?rsp-subtree=full",
			`{"totalCount":"1","imdata":[{"fvAp":{"attributes":{` + apShop + `},"children":[` + epgWithRs + `]}}]}`},
		{"full of classes, nested under the objects on the way", "/api/mo/uni/tn-Prod.json?rsp-subtree=full&rsp-subtree-class=fvSubnet,fvRsBd",
			`{"totalCount":"1","imdata":[{"fvTenant":{"attributes":{` + tnProd + `},"children":[` +
				`{"fvBD":{"attributes":{` + nestedWeb + `},"children":[` + subnet + `]}},` +
				`{"fvAp":{"attributes":{"childAction":"","modTs":"TS","name":"shop","rn":"ap-shop","status":""},"children":[` + epgWithRs + `]}}]}}]}`},
		{"full filtered", `/api/class/fvTenant.json?rsp-subtree=full&rsp-subtree-filter=eq(fvRsBd.tnFvBDName,"web")`,
			`{"totalCount":"2","imdata":[{"fvTenant":{"attributes":{` + tnProd + `},"children":[` +
				`{"fvAp":{"attributes":{"childAction":"","modTs":"TS","name":"shop","rn":"ap-shop","status":""},"children":[` + epgWithRs + `]}}]}},` +
				`{"fvTenant":{"attributes":{` + tnCommon + `}}}]}`},
		{"required", "/api/class/fvBD.json?rsp-subtree=children&rsp-subtree-class=fvSubnet&rsp-subtree-include=required",
			`{"totalCount":"1","imdata":[{"fvBD":{"attributes":{` + bdWeb + `},"children":[` + subnet + `]}}]}`},
		{"required, paged", "/api/class/fvBD.json?rsp-subtree=children&rsp-subtree-class=fvSubnet&rsp-subtree-include=required&page=1&page-size=1",
			`{"totalCount":"1","imdata":[]}`},
		{"on children of a class query", "/api/class/fvAp.json?query-target=children&rsp-subtree=children",
			`{"totalCount":"1","imdata":[{"fvAEPg":{"attributes":{"childAction":"","dn":"uni/tn-Prod/ap-shop/epg-web","modTs":"TS","name":"web","rn":"","status":""},"children":[` + rsBd + `]}}]}`},
	})
}

func TestHealthAndFaultsInclude(t *testing.T) {
	_, c := answerFabric(t, Config{})
	checkAnswers(t, c, []answerCase{
		{"health", "/api/class/fvTenant.json?rsp-subtree-include=health",
			`{"totalCount":"2","imdata":[{"fvTenant":{"attributes":{` + tnProd + `},"children":[` + tnHealth + `]}},{"fvTenant":{"attributes":{` + tnCommon + `}}}]}`},
		{"health, required", "/api/class/fvTenant.json?rsp-subtree-include=health,required",
			`{"totalCount":"1","imdata":[{"fvTenant":{"attributes":{` + tnProd + `},"children":[` + tnHealth + `]}}]}`},
		{"faults", "/api/class/fvBD.json?rsp-subtree-include=faults",
			`{"totalCount":"2","imdata":[{"fvBD":{"attributes":{` + bdDB + `}}},{"fvBD":{"attributes":{` + bdWeb + `},"children":[` + bdFault + `]}}]}`},
		{"faults of nested objects", "/api/mo/uni/tn-Prod.json?rsp-subtree=children&rsp-subtree-class=fvBD&rsp-subtree-include=faults",
			`{"totalCount":"1","imdata":[{"fvTenant":{"attributes":{` + tnProd + `},"children":[` + nestedBDDB + `,{"fvBD":{"attributes":{` + nestedWeb + `},"children":[` + bdFault + `]}}]}}]}`},
		{"full subtree holds them once", "/api/mo/uni/tn-Prod/BD-web.json?rsp-subtree=full&rsp-subtree-include=faults,health",
			`{"totalCount":"1","imdata":[{"fvBD":{"attributes":{` + bdWeb + `},"children":[` + bdFault + `,` + bdHealth + `,` + subnet + `]}}]}`},
	})
}

func TestPropInclude(t *testing.T) {
	_, c := answerFabric(t, Config{})
	checkAnswers(t, c, []answerCase{
		{"naming-only", "/api/class/fvBD.json?rsp-prop-include=naming-only",
			`{"totalCount":"2","imdata":[{"fvBD":{"attributes":{"childAction":"","dn":"uni/tn-Prod/BD-db","name":"db","rn":"","status":""}}},` +
				`{"fvBD":{"attributes":{"childAction":"","dn":"uni/tn-Prod/BD-web","name":"web","rn":"","status":""}}}]}`},
		{"naming-only of a class apicsim does not model", "/api/class/vzFilter.json?rsp-prop-include=naming-only",
			`{"totalCount":"1","imdata":[{"vzFilter":{"attributes":{"childAction":"","dn":"uni/tn-Prod/flt-http","name":"http","rn":"","status":""}}}]}`},
		{"naming-only, nested", "/api/mo/uni/tn-Prod/BD-web.json?rsp-subtree=children&rsp-subtree-class=fvSubnet&rsp-prop-include=naming-only",
			`{"totalCount":"1","imdata":[{"fvBD":{"attributes":{"childAction":"","dn":"uni/tn-Prod/BD-web","name":"web","rn":"","status":""},` +
				`"children":[{"fvSubnet":{"attributes":{"childAction":"","ip":"10.1.2.1/24","rn":"subnet-[10.1.2.1/24]","status":""}}}]}}]}`},
		{"config-only", "/api/class/fvBD.json?rsp-prop-include=config-only",
			`{"totalCount":"2","imdata":[{"fvBD":{"attributes":{"arpFlood":"no","childAction":"","dn":"uni/tn-Prod/BD-db","name":"db","rn":"","status":""}}},` +
				`{"fvBD":{"attributes":{"arpFlood":"yes","childAction":"","dn":"uni/tn-Prod/BD-web","name":"web","rn":"","status":""}}}]}`},
		{"config-only of a fault", "/api/class/faultInst.json?rsp-prop-include=config-only",
			`{"totalCount":"1","imdata":[{"faultInst":{"attributes":{"ack":"no","childAction":"","code":"F1386","dn":"uni/tn-Prod/BD-web/fault-F1386","rn":"","status":""}}}]}`},
		{"all", "/api/class/fvBD.json?rsp-prop-include=all",
			`{"totalCount":"2","imdata":[{"fvBD":{"attributes":{` + bdDB + `}}},{"fvBD":{"attributes":{` + bdWeb + `}}}]}`},
	})
}

// TestQueryTargets: children and subtrees of class queries as of MO queries.
func TestQueryTargets(t *testing.T) {
	_, c := answerFabric(t, Config{})
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/api/class/fvAp.json?query-target=children", []string{"uni/tn-Prod/ap-shop/epg-web"}},
		{"/api/class/fvAEPg.json?query-target=subtree", []string{"uni/tn-Prod/ap-shop/epg-web", "uni/tn-Prod/ap-shop/epg-web/rsbd"}},
		{"/api/class/fvBD.json?query-target=children&target-subtree-class=fvSubnet,healthInst",
			[]string{"uni/tn-Prod/BD-web/health", "uni/tn-Prod/BD-web/subnet-[10.1.2.1/24]"}},
		{"/api/class/fvTenant.json?query-target=subtree&target-subtree-class=fvRsBd", []string{"uni/tn-Prod/ap-shop/epg-web/rsbd"}},
		{`/api/class/fvTenant.json?query-target=subtree&query-target-filter=eq(fvBD.arpFlood,"no")`, []string{"uni/tn-Prod/BD-db"}},
		{"/api/mo/uni/tn-Prod.json?query-target=children&target-subtree-class=fvAp", []string{"uni/tn-Prod/ap-shop"}},
		{"/api/mo/uni/tn-Prod.json?query-target=subtree&target-subtree-class=healthInst", []string{"uni/tn-Prod/BD-web/health", "uni/tn-Prod/health"}},
	} {
		r := c.get(tc.path)
		if got := dnsOf(r); r.code != http.StatusOK || !slices.Equal(got, tc.want) || r.body["totalCount"] != strconv.Itoa(len(tc.want)) {
			t.Errorf("%s: %d %v total %v, want %v", tc.path, r.code, got, r.body["totalCount"], tc.want)
		}
	}
}

// TestUnknownClass: a name that is no APIC class is refused as the APIC
// refuses it; a well-formed class apicsim has no objects of is empty.
func TestUnknownClass(t *testing.T) {
	_, c := answerFabric(t, Config{})
	for path, name := range map[string]string{
		"/api/class/fvtenant.json":    "fvtenant",
		"/api/node/class/Tenant.json": "Tenant",
		"/api/class/fv-Tenant.json":   "fv-Tenant",
		"/api/mo/uni/tn-Prod.json?query-target=subtree&target-subtree-class=fvbd": "fvbd",
		"/api/mo/uni/tn-Prod.json?rsp-subtree=children&rsp-subtree-class=,subnet": "subnet",
	} {
		r := c.get(path)
		want := `{"totalCount":"1","imdata":[{"error":{"attributes":{"code":"400","text":"Request failed, unresolved class for ` + name + `"}}}]}`
		if r.code != http.StatusBadRequest || string(r.raw) != want {
			t.Errorf("%s: %d %s\nwant 400 %s", path, r.code, r.raw, want)
		}
	}
	checkAnswers(t, c, []answerCase{
		{"class without objects", "/api/class/l3extRsNodeL3OutAtt.json", `{"totalCount":"0","imdata":[]}`},
		{"empty class entry", "/api/mo/uni/tn-Prod/BD-web.json?rsp-subtree=children&rsp-subtree-class=,fvSubnet",
			`{"totalCount":"1","imdata":[{"fvBD":{"attributes":{` + bdWeb + `},"children":[` + subnet + `]}}]}`},
	})
	for _, bad := range []string{"rsp-subtree=all", "rsp-prop-include=everything", `rsp-subtree-filter=eq(fvBD.name`} {
		if r := c.get("/api/class/fvBD.json?" + bad); r.code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", bad, r.code, r.raw)
		}
	}
}

func TestUnmodelledOptionsLoggedOnce(t *testing.T) {
	var logs proctest.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, c := answerFabric(t, Config{Logger: logger})
	plain := c.get("/api/class/fvTenant.json")
	for range 2 {
		r := c.get("/api/class/fvTenant.json?time-range=24h&_dc=1764158400&rsp-subtree-include=relations")
		if r.code != http.StatusOK || !bytes.Equal(r.raw, plain.raw) {
			t.Fatalf("answer with unmodelled options: %d %s\nwant %s", r.code, r.raw, plain.raw)
		}
	}
	out := logs.String()
	for _, opt := range []string{"time-range", "_dc", `"rsp-subtree-include=relations"`} {
		line := `level=DEBUG msg="Query option accepted but not modelled; answered as without it" option=` + opt + "\n"
		if n := strings.Count(out, line); n != 1 {
			t.Errorf("option %s logged %d times, want once; log:\n%s", opt, n, out)
		}
	}
}

// TestShapedSubscriptions: what a subscription on a shaped query pushes
// (the protocol notes do not know; apicsim's choice is in the README).
func TestShapedSubscriptions(t *testing.T) {
	s, c := answerFabric(t, Config{})
	c.dial()
	r, children := c.subscribe("/api/class/fvBD.json?rsp-subtree=children&rsp-subtree-class=fvSubnet")
	sameJSON(t, "initial answer", r.raw, `{"totalCount":"2","subscriptionId":"`+children+`","imdata":[{"fvBD":{"attributes":{`+bdDB+`}}},{"fvBD":{"attributes":{`+bdWeb+`},"children":[`+subnet+`]}}]}`)
	r, counted := c.subscribe("/api/class/fvTenant.json?rsp-subtree-include=count,health")
	sameJSON(t, "count answer", r.raw, `{"totalCount":"1","subscriptionId":"`+counted+`","imdata":[{"moCount":{"attributes":{"childAction":"","count":"2","dn":"","status":""}}}]}`)
	_, naming := c.subscribe("/api/class/fvSubnet.json?rsp-prop-include=naming-only")

	// A selected child of a subscribed object: pushed, in full.
	if err := s.Create("fvSubnet", "uni/tn-Prod/BD-db/subnet-[10.9.0.1/24]", map[string]string{"ip": "10.9.0.1/24"}); err != nil {
		t.Fatal(err)
	}
	f := c.readFrame()
	class, attrs := f.object(0)
	if !slices.Equal(sortedCopy(f.IDs), sortedCopy([]string{children, naming})) || class != "fvSubnet" || attrs["status"] != "created" || attrs["ip"] != "10.9.0.1/24" || attrs["modTs"] != ts {
		t.Fatalf("subnet created: ids %v %s %v, want ids %s and %s with every attribute", f.IDs, class, attrs, children, naming)
	}
	// A child of another class is not in the answer: nothing is pushed
	// for it, so the next frame is the tenant's health.
	if err := s.Create("fvRsCtx", "uni/tn-Prod/BD-db/rsctx", map[string]string{"tnFvCtxName": "v1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Modify("uni/tn-Prod/health", map[string]string{"cur": "90"}); err != nil {
		t.Fatal(err)
	}
	f = c.readFrame()
	class, attrs = f.object(0)
	if !slices.Equal(f.IDs, []string{counted}) || class != "healthInst" || attrs["dn"] != "uni/tn-Prod/health" || attrs["cur"] != "90" || attrs["status"] != "modified" {
		t.Fatalf("health modified: ids %v %s %v, want id %s", f.IDs, class, attrs, counted)
	}
	// A count subscription pushes the counted objects, not a moCount.
	if err := s.Create("fvTenant", "uni/tn-Dev", map[string]string{"name": "Dev"}); err != nil {
		t.Fatal(err)
	}
	f = c.readFrame()
	if class, attrs := f.object(0); !slices.Equal(f.IDs, []string{counted}) || class != "fvTenant" || attrs["dn"] != "uni/tn-Dev" || attrs["status"] != "created" {
		t.Fatalf("tenant created: ids %v %s %v", f.IDs, class, attrs)
	}
}
