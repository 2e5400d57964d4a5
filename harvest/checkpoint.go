package harvest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Names of node state entries (store.GetState) the harvester owns.
const (
	stateCheckpoint = "harvest/checkpoint/" // + source id + "/" + prefix
	stateStatus     = "harvest/status/"     // + source id
	stateSource     = "harvest/source/"     // + source id: sources added through the API
)

func checkpointName(id, prefix string) string { return stateCheckpoint + id + "/" + prefix }

// Checkpoint is the harvest position of one source and metadataPrefix. It
// is written in the same store commit as the records of the page it
// follows, so it never runs ahead of them: after a crash, the harvest
// resumes with Token, or, when no list was running, starts an incremental
// list from NextFrom.
type Checkpoint struct {
	// BaseURL, Prefix and Set identify what the position is in; a source
	// whose settings changed starts afresh.
	BaseURL string `json:"base_url"`
	Prefix  string `json:"prefix"`
	Set     string `json:"set,omitempty"`
	// Token is the resumptionToken of the next page of the running list;
	// empty when no list is running.
	Token string `json:"token,omitempty"`
	// ListFrom is the from argument of the running list ("" for a complete
	// list): where the list starts again if the source rejects Token.
	ListFrom string `json:"list_from,omitempty"`
	// ListStarted is the responseDate of the running list's first page,
	// ListStartedHere when it arrived by this node's clock.
	ListStarted     string    `json:"list_started,omitempty"`
	ListStartedHere time.Time `json:"list_started_here,omitzero"`
	// MaxDatestamp is the latest datestamp seen in the running list.
	MaxDatestamp string `json:"max_datestamp,omitempty"`
	// Pages and Records count the running list so far.
	Pages   int64 `json:"pages"`
	Records int64 `json:"records"`
	// NextFrom is the from of the next list, set when a list completes.
	NextFrom string `json:"next_from,omitempty"`
	// Completed is when a list last completed.
	Completed time.Time `json:"completed,omitzero"`
	// DayGranularity is set when the source rejected a from with a time
	// (badArgument) although Identify promised seconds.
	DayGranularity bool `json:"day_granularity,omitempty"`
}

// matches reports whether the checkpoint is a position in this source's
// list for prefix.
func (cp *Checkpoint) matches(src Source, prefix string) bool {
	return cp.BaseURL == src.BaseURL && cp.Prefix == prefix && cp.Set == src.Set
}

// startList records the first page of a (new or restarted) list, which
// arrived at now.
func (cp *Checkpoint) startList(from, responseDate string, now time.Time) {
	cp.Token, cp.ListFrom, cp.ListStarted, cp.MaxDatestamp = "", from, responseDate, ""
	cp.ListStartedHere = now.UTC().Truncate(time.Second)
	cp.Pages, cp.Records = 0, 0
}

// finishList records a completed list and chooses the next list's from.
//
// The next from is the responseDate of this list's first page, not the
// latest datestamp seen. A provider that pages by offset, or whose lists
// are not snapshots, may skip a record written during the list while
// delivering a later one; the latest datestamp would then pass over the
// skipped record forever, whereas every record written after the list
// began has a datestamp at or after its first responseDate (the source's
// own clock, so no skew with ours). from is inclusive (§3.3.1): records at
// that second (or day, at day granularity) come again and are found
// unchanged. A responseDate later than this node's clock when the page
// arrived means the source's clock is ahead (or writes local time as UTC);
// trusting it could skip what was written in between, so this node's time
// is taken instead, the earlier of the two. Without a usable
// responseDate, the latest datestamp seen (not later than now) is the
// fallback, and without that the list's own from.
func (cp *Checkpoint) finishList(now time.Time) {
	next := ""
	if t, ok := parseDatestamp(cp.ListStarted); ok {
		next = cp.ListStarted
		if here := cp.ListStartedHere; !here.IsZero() && t.After(here) {
			next = here.Format("2006-01-02T15:04:05Z")
		}
	} else if t, ok := parseDatestamp(cp.MaxDatestamp); ok && !t.After(now) {
		next = cp.MaxDatestamp
	} else {
		next = cp.ListFrom
	}
	cp.NextFrom = next
	cp.Token, cp.ListFrom, cp.ListStarted, cp.MaxDatestamp = "", "", "", ""
	cp.ListStartedHere = time.Time{}
	cp.Completed = now.UTC().Truncate(time.Second)
}

// abandonList drops the running list's token (a token loop): the next
// harvest starts the list again from where it started.
func (cp *Checkpoint) abandonList() {
	cp.NextFrom = cp.ListFrom
	cp.Token, cp.ListStarted, cp.MaxDatestamp = "", "", ""
	cp.ListStartedHere = time.Time{}
}

// seen records a datestamp of the running list.
func (cp *Checkpoint) seen(ds string, t time.Time) {
	if m, ok := parseDatestamp(cp.MaxDatestamp); !ok || t.After(m) {
		cp.MaxDatestamp = ds
	}
}

func (cp *Checkpoint) encode() []byte {
	b, _ := json.Marshal(cp)
	return b
}

func decodeCheckpoint(b []byte) (Checkpoint, error) {
	var cp Checkpoint
	if len(b) == 0 {
		return cp, nil
	}
	if err := json.Unmarshal(b, &cp); err != nil {
		return Checkpoint{}, fmt.Errorf("harvest checkpoint: %w", err)
	}
	return cp, nil
}

// parseDatestamp reads an OAI-PMH datestamp tolerantly: YYYY-MM-DD, or
// YYYY-MM-DDThh:mm:ssZ, and what real sources write instead (no Z, as
// NOAA's NODC does, taken as UTC; fractions of a second; an offset).
func parseDatestamp(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999", "2006-01-02", "2006-01-02T15:04Z", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// formatFrom writes a datestamp as a from argument at the source's
// granularity (§3.3.2): at day granularity the day itself, so that the
// rest of that day is harvested again (the overlap day granularity needs).
func formatFrom(ds string, day bool) string {
	t, ok := parseDatestamp(ds)
	if !ok {
		return ds
	}
	if day {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02T15:04:05Z")
}
