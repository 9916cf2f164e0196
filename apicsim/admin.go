package apicsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// AdminHandler serves fault injection and the ground truth over HTTP, for
// tests that drive the simulator from outside the process. Serve it on its
// own listener, never on a controller's.
//
//	GET  /truth?user=U&fabric=F                 ground truth, Prometheus text format
//	GET  /status                                controllers, sessions, sockets, churn
//	POST /churn?rate=R                          set the churn rate (0 stops it)
//	POST /faults/drop-sockets?mode=M            normal, going-away or abrupt
//	POST /faults/stall-sockets                  half-open sockets
//	POST /faults/expire-sessions                token timeout for every session
//	POST /faults/kill-subscriptions?shape=S     http400, error200 or silent200
//	POST /faults/refresh-failure?shape=S        answer for dead ids
//	POST /faults/kill-controller?index=I        0-based
//	POST /faults/revive-controller?index=I
//	POST /faults/throttle-logins?on=B
//	POST /faults/latency?duration=D             e.g. 250ms
//	POST /faults/early-push?on=B
//	POST /faults/refuse-comparisons?on=B        gt, ge, lt, le filters answer 400
//	POST /faults/inject-frame?kind=K            invalid-json, no-dn, unknown-class, unknown-id
func (s *Sim) AdminHandler(churn func(rate float64)) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /truth", func(w http.ResponseWriter, r *http.Request) {
		user := r.URL.Query().Get("user")
		if user == "" {
			http.Error(w, "user is required", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		s.Truth(user).WriteText(w, r.URL.Query().Get("fabric"))
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Status())
	})
	mux.HandleFunc("POST /churn", func(w http.ResponseWriter, r *http.Request) {
		rate, err := strconv.ParseFloat(r.URL.Query().Get("rate"), 64)
		if err != nil || rate < 0 || churn == nil {
			http.Error(w, "rate must be a number >= 0", http.StatusBadRequest)
			return
		}
		churn(rate)
		fmt.Fprintf(w, "churn rate %g/s\n", rate)
	})
	mux.HandleFunc("POST /faults/{name}", func(w http.ResponseWriter, r *http.Request) {
		msg, err := s.adminFault(r.PathValue("name"), r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, msg)
	})
	return mux
}

func (s *Sim) adminFault(name string, r *http.Request) (string, error) {
	q := r.URL.Query()
	switch name {
	case "drop-sockets":
		n, err := s.DropSockets(CloseMode(q.Get("mode")))
		return fmt.Sprintf("dropped %d sockets", n), err
	case "stall-sockets":
		return fmt.Sprintf("stalled %d sockets", s.StallSockets()), nil
	case "expire-sessions":
		return fmt.Sprintf("expired %d sessions", s.ExpireSessions()), nil
	case "kill-subscriptions", "refresh-failure":
		shape, err := ParseRefreshFailure(q.Get("shape"))
		if err != nil {
			return "", err
		}
		if name == "refresh-failure" {
			s.SetRefreshFailure(shape)
			return "refresh failure set to " + string(shape), nil
		}
		return fmt.Sprintf("killed %d subscriptions", s.KillSubscriptions(shape)), nil
	case "kill-controller", "revive-controller":
		i, err := strconv.Atoi(q.Get("index"))
		if err != nil {
			return "", fmt.Errorf("index must be a number")
		}
		if name == "kill-controller" {
			return fmt.Sprintf("controller %d killed", i), s.KillController(i)
		}
		return fmt.Sprintf("controller %d revived", i), s.ReviveController(i)
	case "throttle-logins", "early-push", "refuse-comparisons":
		on, err := strconv.ParseBool(q.Get("on"))
		if err != nil {
			return "", fmt.Errorf("on must be true or false")
		}
		switch name {
		case "throttle-logins":
			s.ThrottleLogins(on)
		case "early-push":
			s.SetEarlyPush(on)
		default:
			s.SetRefuseComparisons(on)
		}
		return fmt.Sprintf("%s %t", name, on), nil
	case "latency":
		d, err := time.ParseDuration(q.Get("duration"))
		if err != nil || d < 0 {
			return "", fmt.Errorf("duration must be a non-negative Go duration")
		}
		s.SetLatency(d)
		return "latency " + d.String(), nil
	case "inject-frame":
		n, err := s.InjectFrame(q.Get("kind"))
		return fmt.Sprintf("injected into %d sockets", n), err
	}
	return "", fmt.Errorf("unknown fault %q", name)
}

// Status is a summary of the simulator's state.
type Status struct {
	Controllers   []ControllerStatus `json:"controllers"`
	Objects       int                `json:"objects"`
	ChurnPerSec   float64            `json:"churn_per_second"`
	Subscriptions int                `json:"subscriptions"`
}

// ControllerStatus describes one controller.
type ControllerStatus struct {
	URL      string `json:"url"`
	Alive    bool   `json:"alive"`
	Sessions int    `json:"sessions"`
	Sockets  int    `json:"sockets"`
}

// Status reports controllers, sessions, sockets and the store size.
func (s *Sim) Status() Status {
	rate := s.ChurnRate()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{Objects: len(s.st.objs), ChurnPerSec: rate}
	for _, c := range s.ctrls {
		cs := ControllerStatus{URL: "https://" + c.addr, Alive: c.alive}
		for _, sess := range c.sessions() {
			cs.Sessions++
			if sess.sock != nil && !sess.sock.closed {
				cs.Sockets++
			}
		}
		st.Subscriptions += len(c.subs)
		st.Controllers = append(st.Controllers, cs)
	}
	return st
}
