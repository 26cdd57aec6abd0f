package serve

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the service's Prometheus series, on a registry of its own
// (several services in one test process never collide).
type metrics struct {
	reg         *prometheus.Registry
	events      *prometheus.CounterVec
	refused     *prometheus.CounterVec
	runs        *prometheus.CounterVec
	runSeconds  *prometheus.HistogramVec
	stepSeconds *prometheus.HistogramVec
	busyTotal   *prometheus.CounterVec
	queueDepth  prometheus.Gauge
	queueAge    prometheus.Gauge
	handover    prometheus.Histogram
	accept      prometheus.Histogram
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onboard_events_received_total",
		Help: "Events accepted, by source (hr, scim) and result (scheduled, rescheduled, held, cancelled, ignored, duplicate)."},
		[]string{"source", "result"})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onboard_events_refused_total",
		Help: "Requests refused, by source and reason (signature, stale, unsigned, malformed, invalid, unauthorized, too_large; the status page: unauthorized, csrf, rate_limited)."},
		[]string{"source", "reason"})
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onboard_runs_total",
		Help: "Runs finished, by phase and outcome (ok, failed)."}, []string{"phase", "outcome"})
	m.runSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "onboard_run_duration_seconds",
		Help: "Wall time of a run, by phase.", Buckets: prometheus.ExponentialBuckets(0.5, 2, 12)}, []string{"phase"})
	m.stepSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "onboard_step_duration_seconds",
		Help: "Wall time of a step, by kind.", Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 12)}, []string{"kind"})
	m.busyTotal = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onboard_run_waits_total",
		Help: "Times a run waited for a resource limit, by kind of resource (hire, host, directory, global)."}, []string{"resource"})
	m.queueDepth = prometheus.NewGauge(prometheus.GaugeOpts{Name: "onboard_queue_depth",
		Help: "Runs waiting in the queue (due or scheduled later)."})
	m.queueAge = prometheus.NewGauge(prometheus.GaugeOpts{Name: "onboard_queue_oldest_due_seconds",
		Help: "How long the oldest due run has waited to be picked up."})
	m.handover = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "onboard_handover_lag_seconds",
		Help:    "Time from the start date (midnight UTC) to handover; negative lags (ready before the day) count in the lowest bucket.",
		Buckets: []float64{0, 3600, 4 * 3600, 8 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600}})
	m.accept = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "onboard_intake_seconds",
		Help: "Time to accept an event (stored and queued) before it is answered.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	m.reg.MustRegister(m.events, m.refused, m.runs, m.runSeconds, m.stepSeconds, m.busyTotal, m.queueDepth, m.queueAge,
		m.handover, m.accept, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

func (m *metrics) event(source, result string, duplicate bool) {
	if duplicate {
		result = "duplicate"
	}
	m.events.WithLabelValues(source, result).Inc()
}

func (m *metrics) refuse(source, reason string) { m.refused.WithLabelValues(source, reason).Inc() }

func (m *metrics) outcome(phase, state string) { m.runs.WithLabelValues(phase, state).Inc() }

func (m *metrics) runTime(phase string, d time.Duration) {
	m.runSeconds.WithLabelValues(phase).Observe(d.Seconds())
}

func (m *metrics) busy(resource string) {
	kind := resource
	for i := range resource {
		if resource[i] == ':' {
			kind = resource[:i]
			break
		}
	}
	m.busyTotal.WithLabelValues(kind).Inc()
}

func (m *metrics) handedOver(startDate string, now time.Time) {
	start, err := time.Parse(time.DateOnly, startDate)
	if err != nil {
		return
	}
	m.handover.Observe(now.Sub(start).Seconds())
}

func (m *metrics) depth(ctx context.Context, q *queue) {
	n, age, err := q.Depth(ctx)
	if err != nil {
		return
	}
	m.queueDepth.Set(float64(n))
	m.queueAge.Set(age.Seconds())
}
