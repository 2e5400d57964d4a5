package search

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics exports the index state and query latency.
type metrics struct {
	s       *Service
	latency prometheus.Histogram
	indexed *prometheus.Desc
	lag     *prometheus.Desc
	records *prometheus.Desc
	disk    *prometheus.Desc
}

func newMetrics(s *Service) *metrics {
	return &metrics{
		s: s,
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "colligo_search_query_duration_seconds", Help: "Search latency.",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 5},
		}),
		indexed: prometheus.NewDesc("colligo_search_indexed_seq", "Highest store change seq the search index holds.", nil, nil),
		lag:     prometheus.NewDesc("colligo_search_lag_changes", "Store changes not yet in the search index.", nil, nil),
		records: prometheus.NewDesc("colligo_search_records", "Live records in the search index.", nil, nil),
		disk:    prometheus.NewDesc("colligo_search_disk_bytes", "Bytes the search index takes on disk.", nil, nil),
	}
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.latency.Describe(ch)
	ch <- m.indexed
	ch <- m.lag
	ch <- m.records
	ch <- m.disk
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.latency.Collect(ch)
	sh, err := m.s.shard()
	if err != nil {
		return
	}
	v, err := sh.acquire()
	if err != nil {
		return
	}
	cp, recs := v.checkpoint, v.records
	v.release()
	last := m.s.st.LastSeq()
	lag := float64(0)
	if last > cp {
		lag = float64(last - cp)
	}
	ch <- prometheus.MustNewConstMetric(m.indexed, prometheus.GaugeValue, float64(cp))
	ch <- prometheus.MustNewConstMetric(m.lag, prometheus.GaugeValue, lag)
	ch <- prometheus.MustNewConstMetric(m.records, prometheus.GaugeValue, float64(recs))
	ch <- prometheus.MustNewConstMetric(m.disk, prometheus.GaugeValue, float64(sh.diskBytes()))
}
