// Command apicsim runs a simulated Cisco APIC cluster: HTTPS REST, the
// event websocket, steady churn, fault injection and the ground truth,
// for testing APIC clients such as aci-exporter.
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"

	"github.com/aci-exporter/aci-exporter/apicsim"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout)) }

type options struct {
	controllers   int
	listen        []string
	adminListen   string
	profile       string
	churnRate     float64
	seed          int64
	username      string
	password      string
	caFile        string
	certFile      string
	keyFile       string
	refresh       time.Duration
	maxLifetime   time.Duration
	subTimeout    time.Duration
	jwt           bool
	batch         int
	loginRate     float64
	maxResultSize int
	refuseCmp     bool
}

func run(args []string, stdout io.Writer) int {
	app := kingpin.New("apicsim", "A simulated Cisco APIC cluster with churn, fault injection and ground truth.")
	app.HelpFlag.Short('h')
	var o options
	app.Flag("controllers", "Number of controllers in the cluster.").Default("1").IntVar(&o.controllers)
	app.Flag("web.listen-address", "Address of a controller; repeat once per controller. Missing ones listen on 127.0.0.1 with the next port.").Default("127.0.0.1:8443").StringsVar(&o.listen)
	app.Flag("admin.listen-address", "Address of the admin endpoint (faults, truth, churn).").Default("127.0.0.1:8440").StringVar(&o.adminListen)
	app.Flag("profile", "Fabric profile: "+strings.Join(apicsim.ProfileNames(), ", ")+".").Default("demo").StringVar(&o.profile)
	app.Flag("churn.rate", "Changes per second; 0 for none.").Default("20").Float64Var(&o.churnRate)
	app.Flag("seed", "Seed of the fabric and its churn.").Default("1").Int64Var(&o.seed)
	app.Flag("username", "User name that may log in.").Default("admin").StringVar(&o.username)
	app.Flag("password", "Password of that user.").Default("password").StringVar(&o.password)
	app.Flag("tls.ca-file", "Write the generated CA certificate (PEM) here, for clients to verify the controllers.").Default("apicsim-ca.pem").StringVar(&o.caFile)
	app.Flag("tls.cert-file", "Serve this certificate instead of a generated one (needs --tls.key-file).").StringVar(&o.certFile)
	app.Flag("tls.key-file", "Key of --tls.cert-file.").StringVar(&o.keyFile)
	app.Flag("token.refresh-timeout", "Token idle lifetime (refreshTimeoutSeconds).").Default("600s").DurationVar(&o.refresh)
	app.Flag("token.max-lifetime", "Token maximum lifetime (maximumLifetimeSeconds).").Default("24h").DurationVar(&o.maxLifetime)
	app.Flag("token.jwt", "Issue 5.x-style JWT tokens instead of legacy ones.").BoolVar(&o.jwt)
	app.Flag("subscription.timeout", "Default subscription lifetime without refresh.").Default("60s").DurationVar(&o.subTimeout)
	app.Flag("push.batch-size", "Objects per frame at most when changes queue up.").Default("1").IntVar(&o.batch)
	app.Flag("login.rate-limit", "Logins per second per controller before 503; 0 for none.").Default("0").Float64Var(&o.loginRate)
	app.Flag("query.max-result-size", "Unpaged queries over this many objects fail with 400.").Default("100000").IntVar(&o.maxResultSize)
	app.Flag("query.refuse-comparisons", "Answer filters with gt, ge, lt or le with 400, like an APIC or proxy that refuses them.").BoolVar(&o.refuseCmp)
	logCfg := &promslog.Config{}
	promslogflag.AddFlags(app, logCfg)
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	logger := promslog.New(logCfg)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, o, stdout, logger); err != nil {
		logger.Error("apicsim failed", "err", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, o options, stdout io.Writer, logger *slog.Logger) error {
	profile, err := apicsim.ProfileByName(o.profile)
	if err != nil {
		return err
	}
	cfg := apicsim.Config{
		Controllers:         o.controllers,
		Users:               map[string]string{o.username: o.password},
		Addrs:               controllerAddrs(o.listen, o.controllers),
		RefreshTimeout:      o.refresh,
		MaxLifetime:         o.maxLifetime,
		SubscriptionTimeout: o.subTimeout,
		JWTTokens:           o.jwt,
		BatchSize:           o.batch,
		LoginRate:           o.loginRate,
		MaxResultSize:       o.maxResultSize,
		RefuseComparisons:   o.refuseCmp,
		Logger:              logger,
	}
	if o.certFile != "" {
		cert, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
		if err != nil {
			return fmt.Errorf("load certificate: %w", err)
		}
		cfg.Certificate = &cert
	}
	sim, err := apicsim.New(cfg)
	if err != nil {
		return err
	}
	defer sim.Close()
	if err := sim.Populate(profile, o.seed); err != nil {
		return fmt.Errorf("populate: %w", err)
	}
	if o.certFile == "" {
		if err := sim.WriteCA(o.caFile); err != nil {
			return fmt.Errorf("write CA: %w", err)
		}
	}
	churn := func(rate float64) {
		if rate == 0 {
			_ = sim.StopChurn()
			return
		}
		sim.StartChurn(profile, o.seed, rate)
	}
	if o.churnRate > 0 {
		churn(o.churnRate)
	}
	ln, err := net.Listen("tcp", o.adminListen)
	if err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	admin := &http.Server{Handler: sim.AdminHandler(churn), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = admin.Serve(ln) }()
	defer admin.Close()

	for i, u := range sim.URLs() {
		fmt.Fprintf(stdout, "controller %d: %s\n", i+1, u)
	}
	if o.certFile == "" {
		fmt.Fprintf(stdout, "CA certificate: %s\n", o.caFile)
	}
	fmt.Fprintf(stdout, "admin: http://%s (GET /truth?user=%s, GET /status, POST /faults/...)\n", ln.Addr(), o.username)
	fmt.Fprintf(stdout, "user: %s; profile %s, %d objects, churn %g/s\n", o.username, profile.Name, sim.Status().Objects, o.churnRate)
	logger.Info("apicsim ready")
	<-ctx.Done()
	return nil
}

// controllerAddrs fills in missing controller addresses with the ports
// after the last one given.
func controllerAddrs(given []string, n int) []string {
	addrs := append([]string(nil), given...)
	for len(addrs) < n {
		host, port, err := net.SplitHostPort(addrs[len(addrs)-1])
		p, perr := strconv.Atoi(port)
		if err != nil || perr != nil || p == 0 {
			addrs = append(addrs, "127.0.0.1:0")
			continue
		}
		addrs = append(addrs, net.JoinHostPort(host, strconv.Itoa(p+1)))
	}
	return addrs
}
