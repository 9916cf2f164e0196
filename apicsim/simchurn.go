package apicsim

import (
	"context"
)

// churnRunner is the churn started by StartChurn.
type churnRunner struct {
	cancel context.CancelFunc
	done   chan struct{}
	rate   float64
	err    error
}

// Populate builds the profile's initial fabric, deterministically from seed.
func (s *Sim) Populate(p Profile, seed int64) error {
	return Populate(s, p, seed, s.now)
}

// StartChurn changes the fabric at rate changes per second with the
// profile's mix until StopChurn or Close; it replaces a running churn.
func (s *Sim) StartChurn(p Profile, seed int64, rate float64) {
	s.StopChurn()
	ctx, cancel := context.WithCancel(s.ctx)
	r := &churnRunner{cancel: cancel, done: make(chan struct{}), rate: rate}
	c := NewChurn(s, p, seed, s.now)
	go func() {
		defer close(r.done)
		if err := c.Run(ctx, rate); err != nil {
			s.log.Error("Churn stopped", "err", err)
			r.err = err
		}
	}()
	s.churnMu.Lock()
	s.churn = r
	s.churnMu.Unlock()
}

// StopChurn stops the churn and waits until its last change is committed.
// It returns the error that stopped the churn early, if any.
func (s *Sim) StopChurn() error {
	s.churnMu.Lock()
	r := s.churn
	s.churn = nil
	s.churnMu.Unlock()
	if r == nil {
		return nil
	}
	r.cancel()
	<-r.done
	return r.err
}

// ChurnRate returns the rate of the running churn, 0 when none runs.
func (s *Sim) ChurnRate() float64 {
	s.churnMu.Lock()
	defer s.churnMu.Unlock()
	if s.churn == nil {
		return 0
	}
	return s.churn.rate
}
