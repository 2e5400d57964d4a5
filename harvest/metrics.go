package harvest

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// collector exports the sources' status as Prometheus metrics. It reads
// the status at scrape time, so a removed source's series disappear.
type collector struct{ h *Harvester }

var (
	descRecords = prometheus.NewDesc("colligo_harvest_records_total",
		"Harvested records by outcome, since the node started.", []string{"source", "outcome"}, nil)
	descRuns = prometheus.NewDesc("colligo_harvest_runs_total",
		"Harvests by result, since the node started.", []string{"source", "result"}, nil)
	descRetries = prometheus.NewDesc("colligo_harvest_retries_total",
		"Requests tried again (timeouts, 5xx, 503 with Retry-After), since the node started.", []string{"source"}, nil)
	descBytes = prometheus.NewDesc("colligo_harvest_bytes_total",
		"Bytes of responses read, since the node started.", []string{"source"}, nil)
	descLastSuccess = prometheus.NewDesc("colligo_harvest_last_success_timestamp_seconds",
		"When the last complete harvest of the source ended (0: never).", []string{"source"}, nil)
	descLastError = prometheus.NewDesc("colligo_harvest_last_error_timestamp_seconds",
		"When the last failed harvest of the source ended (0: never).", []string{"source"}, nil)
	descDuration = prometheus.NewDesc("colligo_harvest_last_duration_seconds",
		"Duration of the source's last harvest.", []string{"source"}, nil)
	descRunning = prometheus.NewDesc("colligo_harvest_running",
		"1 while a harvest of the source runs.", []string{"source"}, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRecords, descRuns, descRetries, descBytes, descLastSuccess, descLastError, descDuration, descRunning} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	h := c.h
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, e := range h.sources {
		t := e.totals
		for _, o := range []struct {
			name string
			v    int64
		}{{"added", t.Added}, {"updated", t.Updated}, {"unchanged", t.Unchanged}, {"deleted", t.Deleted}, {"rejected", t.Rejected}} {
			ch <- prometheus.MustNewConstMetric(descRecords, prometheus.CounterValue, float64(o.v), id, o.name)
		}
		ch <- prometheus.MustNewConstMetric(descRuns, prometheus.CounterValue, float64(e.runs-e.errs), id, "ok")
		ch <- prometheus.MustNewConstMetric(descRuns, prometheus.CounterValue, float64(e.errs), id, "error")
		ch <- prometheus.MustNewConstMetric(descRetries, prometheus.CounterValue, float64(t.Retries), id)
		ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(t.Bytes), id)
		ch <- prometheus.MustNewConstMetric(descLastSuccess, prometheus.GaugeValue, unix(e.status.LastSuccess), id)
		ch <- prometheus.MustNewConstMetric(descLastError, prometheus.GaugeValue, unix(e.status.LastErrorAt), id)
		ch <- prometheus.MustNewConstMetric(descDuration, prometheus.GaugeValue, e.status.Seconds, id)
		running := 0.0
		if _, ok := h.running[id]; ok {
			running = 1
		}
		ch <- prometheus.MustNewConstMetric(descRunning, prometheus.GaugeValue, running, id)
	}
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.Unix())
}
