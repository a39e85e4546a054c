package main

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics implements core.Observer over Prometheus collectors.
type metrics struct {
	reg        *prometheus.Registry
	warm       prometheus.GaugeFunc
	queued     prometheus.Gauge
	turns      *prometheus.CounterVec
	turnDur    prometheus.Histogram
	firstToken prometheus.Histogram
	spawns     *prometheus.CounterVec
	evictions  prometheus.Counter
	verdicts   *prometheus.CounterVec
	approvals  *prometheus.CounterVec
	storeErrs  prometheus.Counter
	apiCalls   *prometheus.CounterVec
}

func newMetrics(warm func() float64) *metrics {
	buckets := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
	m := &metrics{
		reg:        prometheus.NewRegistry(),
		warm:       prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hotline_warm_sessions", Help: "Sessions with a warm agent process."}, warm),
		queued:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "hotline_queued_messages", Help: "Accepted messages waiting for their turn."}),
		turns:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_turns_total", Help: "Finished turns by outcome."}, []string{"outcome"}),
		turnDur:    prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hotline_turn_seconds", Help: "Turn latency from start to end.", Buckets: buckets}),
		firstToken: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hotline_first_token_seconds", Help: "From turn start to the first text delta.", Buckets: buckets}),
		spawns:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_agent_spawns_total", Help: "Agent processes started, by whether they resumed a conversation."}, []string{"resume"}),
		evictions:  prometheus.NewCounter(prometheus.CounterOpts{Name: "hotline_evictions_total", Help: "Agents stopped for idleness or the session cap."}),
		verdicts:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_firewall_verdicts_total", Help: "Firewall verdicts by action and rule."}, []string{"action", "rule"}),
		approvals:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_approvals_total", Help: "Permission requests by outcome."}, []string{"outcome"}),
		storeErrs:  prometheus.NewCounter(prometheus.CounterOpts{Name: "hotline_store_errors_total", Help: "Session store operations that failed."}),
		apiCalls:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_platform_api_calls_total", Help: "Platform API calls by platform, method and status (429 included)."}, []string{"platform", "method", "status"}),
	}
	m.reg.MustRegister(m.warm, m.queued, m.turns, m.turnDur, m.firstToken, m.spawns, m.evictions, m.verdicts, m.approvals, m.storeErrs, m.apiCalls,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) Queued(d int) { m.queued.Add(float64(d)) }
func (m *metrics) TurnDone(outcome string, d time.Duration) {
	m.turns.WithLabelValues(outcome).Inc()
	m.turnDur.Observe(d.Seconds())
}
func (m *metrics) FirstToken(d time.Duration) { m.firstToken.Observe(d.Seconds()) }
func (m *metrics) Spawned(resume bool) {
	l := "false"
	if resume {
		l = "true"
	}
	m.spawns.WithLabelValues(l).Inc()
}
func (m *metrics) Evicted()                    { m.evictions.Inc() }
func (m *metrics) Verdict(action, rule string) { m.verdicts.WithLabelValues(action, rule).Inc() }
func (m *metrics) Approval(outcome string)     { m.approvals.WithLabelValues(outcome).Inc() }
func (m *metrics) StoreError()                 { m.storeErrs.Inc() }

// APICall counts one platform API call; adapters report through it.
func (m *metrics) APICall(platform, method string, status int) {
	m.apiCalls.WithLabelValues(platform, method, itoa(status)).Inc()
}

func itoa(n int) string {
	if n == 0 {
		return "error"
	}
	return strconv.Itoa(n)
}
